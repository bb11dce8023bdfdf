"""Summarise a py-spy ``--format raw`` (collapsed stacks) file: top frames by inclusive and by self samples.

Usage: ``python bench/profile_top.py PROFILE.txt [--top 25] [--match finops] [--by-package]``
"""

from __future__ import annotations

import argparse
import re
from collections import Counter


def package(frame: str) -> str:
    """``finops/api`` for the project's own frames, the top-level package (or file) for everything else."""
    match = re.search(r"\(([^)]*)\)", frame)
    parts = (match.group(1) if match else frame).split("/")
    return "/".join(parts[:2]) if parts[0] == "finops" else parts[0].split(":")[0]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("profile")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--match", default="", help="only frames whose text contains this")
    parser.add_argument("--by-package", action="store_true", help="self samples summed by package")
    args = parser.parse_args()
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    packages: Counter[str] = Counter()
    total = 0
    with open(args.profile, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            stack, _, count = line.rstrip("\n").rpartition(" ")
            if not stack or not count.isdigit():
                continue
            samples = int(count)
            total += samples
            frames = stack.split(";")
            for frame in set(frames):
                inclusive[frame] += samples
            own[frames[-1]] += samples
            packages[package(frames[-1])] += samples
    print(f"{total} samples")
    if args.by_package:
        for name, samples in packages.most_common(args.top):
            print(f"{100 * samples / max(total, 1):6.1f}%  {name}")
        return
    for title, counter in (("inclusive", inclusive), ("self", own)):
        print(f"\n-- top {args.top} by {title} --")
        shown = 0
        for frame, samples in counter.most_common():
            if args.match and args.match not in frame:
                continue
            print(f"{100 * samples / max(total, 1):6.1f}%  {frame[:150]}")
            shown += 1
            if shown >= args.top:
                break


if __name__ == "__main__":
    main()
