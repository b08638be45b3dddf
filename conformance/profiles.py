"""The Hypothesis profiles of the suite: ``ci`` (fast, derandomised) and ``thorough``."""

from hypothesis import HealthCheck, Phase, settings

PROFILES = ("ci", "thorough")

# Every phase but "explain": its coverage tracing multiplies the cost of a
# failure tenfold, and the shrunk step list already says what happened.
PHASES = (Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink)

settings.register_profile(
    "ci",
    max_examples=100,
    stateful_step_count=40,
    deadline=None,
    derandomize=True,
    database=None,
    phases=PHASES,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "thorough",
    max_examples=400,
    stateful_step_count=60,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)


# The profile loaded last (the plugin loads one per run).
CURRENT = ["ci"]

# Whole-cluster histories are costly (each ends with up to 15 simulated minutes of
# settling), so the cluster suite runs fewer, shorter ones than the profile's default.
CLUSTER_HISTORIES = {"ci": (40, 25), "thorough": (150, 40)}  # (examples, steps)


def load(name: str) -> None:
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}: use one of {', '.join(PROFILES)}")
    settings.load_profile(name)
    CURRENT[0] = name


def cluster_settings() -> settings:
    """The settings of the cluster suite under the current profile."""
    examples, steps = CLUSTER_HISTORIES[CURRENT[0]]
    return settings(settings.default, max_examples=examples, stateful_step_count=steps)


def mutant_hunt(max_examples: int, *, shrink: bool, every_bug: bool = False) -> settings:
    """Settings for running a machine against a deliberately broken implementation:
    derandomised and without a database (the same search everywhere), with 30-step
    histories; ``shrink`` to print the shrunk history, off where only the catch
    matters (shrinking is most of the cost); ``every_bug`` to go on searching after
    the first violation and report the distinct ones (Hypothesis' default), which
    decides which invariant is reported when a mutant breaks several."""
    phases = [Phase.explicit, Phase.generate] + ([Phase.shrink] if shrink else [])
    return settings(
        max_examples=max_examples,
        stateful_step_count=30,
        deadline=None,
        derandomize=True,
        database=None,
        report_multiple_bugs=every_bug,
        phases=phases,
        suppress_health_check=list(HealthCheck),
    )
