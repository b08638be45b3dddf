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


def load(name: str) -> None:
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}: use one of {', '.join(PROFILES)}")
    settings.load_profile(name)
