"""Figure rules draw every family x method in one job: the pairs and their files, in order."""


def pairs(snakemake) -> list[tuple[str, str]]:
    """(family, method) of each PNG in output.png, in the same order."""
    found = [tuple(pair) for pair in snakemake.params.pairs]
    if len(found) != len(snakemake.output.png):
        raise ValueError(f"{len(found)} family x method pairs for {len(snakemake.output.png)} PNGs")
    return found


def per_pair(files, pairs: list[tuple[str, str]]) -> dict:
    """A flat input list, pair-major (as the rules write it), as {(family, method): [files]}."""
    files = list(files)
    if len(files) % len(pairs):
        raise ValueError(f"{len(files)} files do not split evenly over {len(pairs)} pairs")
    size = len(files) // len(pairs)
    return {pair: files[i * size : (i + 1) * size] for i, pair in enumerate(pairs)}


def title(pair: tuple[str, str], what: str = "") -> str:
    family, method = pair
    return f"{family} / {method} pruning" + (f": {what}" if what else "")
