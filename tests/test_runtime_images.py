"""Table tests of the image rules: reference normalisation, pull errors and times, scripts."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kubeprop.reference.runtime import images
from kubeprop.reference.runtime.images import ImageScript, parse_reference, parse_script

DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize(
    ("reference", "normalised"),
    [
        ("nginx", "docker.io/library/nginx:latest"),
        ("nginx:1.27", "docker.io/library/nginx:1.27"),
        ("library/nginx", "docker.io/library/nginx:latest"),
        ("bitnami/redis:7.2", "docker.io/bitnami/redis:7.2"),
        ("docker.io/nginx", "docker.io/library/nginx:latest"),
        ("index.docker.io/library/nginx:1", "docker.io/library/nginx:1"),
        ("registry.k8s.io/pause:3.10", "registry.k8s.io/pause:3.10"),
        ("quay.io/prometheus/node-exporter", "quay.io/prometheus/node-exporter:latest"),
        ("localhost/app", "localhost/app:latest"),
        ("localhost:5000/team/app:v1", "localhost:5000/team/app:v1"),
        (f"nginx@{DIGEST}", f"docker.io/library/nginx@{DIGEST}"),
        (f"nginx:1.27@{DIGEST}", f"docker.io/library/nginx:1.27@{DIGEST}"),
        ("kubeprop.test/exit:3-after-5s", "kubeprop.test/exit:3-after-5s"),
        ("my_org/my-app__x:v1.0_rc", "docker.io/my_org/my-app__x:v1.0_rc"),
    ],
)
def test_a_reference_is_normalised_as_docker_and_containerd_do(reference, normalised):
    assert parse_reference(reference).ref == normalised


@pytest.mark.parametrize(
    ("reference", "says"),
    [
        ("", "non-empty string"),
        (None, "non-empty string"),
        ("Nginx", "repository name (library/Nginx) must be lowercase"),
        ("nginx:", "malformed tag"),
        ("nginx:-1", "malformed tag"),
        ("nginx@sha256:xyz", "malformed digest"),
        ("ngi nx", "whitespace"),
        ("-nginx", "malformed repository"),
        ("docker.io/", "malformed repository"),
        ("a" * 300, "must not be more than 255 characters"),
    ],
)
def test_an_invalid_reference_is_rejected_with_the_invalid_reference_format_message(
    reference, says
):
    with pytest.raises(images.InvalidReference) as error:
        parse_reference(reference)
    assert str(error.value).startswith("invalid reference format")
    assert says in str(error.value)


@pytest.mark.parametrize(
    ("reference", "fragment"),
    [
        ("unknown.example/app:1", "lookup unknown.example: no such host"),
        ("localhost:5000/app", "lookup localhost: no such host"),
        ("registry.example.com/team/app", 'Head "https://registry.example.com/v2/team/app'),
        ("nginx:doesnotexist", "docker.io/library/nginx:doesnotexist: not found"),
        ("quay.io/org/app:missing-v2", "quay.io/org/app:missing-v2: not found"),
        ("kubeprop.test/exit:abc", "kubeprop.test/exit:abc: not found"),
        ("kubeprop.test/nope", "not found"),
    ],
)
def test_a_pull_from_an_unknown_host_or_of_a_missing_tag_fails_as_containerd_says(
    reference, fragment
):
    error = images.pull_error(parse_reference(reference))
    assert error is not None and fragment in error
    assert error.startswith('failed to pull and unpack image "')


@pytest.mark.parametrize(
    "reference",
    ["nginx", "gcr.io/google-samples/hello-app:1.0", "ghcr.io/org/tool:v1", "kubeprop.test/oom"],
)
def test_a_pull_from_a_known_registry_of_a_present_tag_succeeds(reference):
    assert images.pull_error(parse_reference(reference)) is None


@pytest.mark.parametrize(
    ("reference", "seconds"),
    [
        ("nginx", 1.7),  # 70 MB
        ("busybox", 1.04),  # 4 MB
        ("registry.k8s.io/pause:3.10", 1.01),  # 1 MB
        ("quay.io/org/app", 1.5),  # any other image: 50 MB
        ("kubeprop.test/crash", 1.01),  # test images: 1 MB
    ],
)
def test_a_pull_takes_one_second_plus_one_second_per_100_megabytes(reference, seconds):
    assert images.pull_seconds(parse_reference(reference)) == pytest.approx(seconds)


@pytest.mark.parametrize(
    ("reference", "script"),
    [
        ("nginx", ImageScript()),
        ("kubeprop.test/exit:0", ImageScript(exit_code=0, exit_after=1.0)),
        ("kubeprop.test/exit:42", ImageScript(exit_code=42, exit_after=1.0)),
        ("kubeprop.test/exit:3-after-10s", ImageScript(exit_code=3, exit_after=10.0)),
        ("kubeprop.test/exit:255-after-1s", ImageScript(exit_code=255, exit_after=1.0)),
        ("kubeprop.test/crash", ImageScript(exit_code=1, exit_after=1.0)),
        ("kubeprop.test/crash:v2", ImageScript(exit_code=1, exit_after=1.0)),
        ("kubeprop.test/oom", ImageScript(exit_code=137, exit_after=1.0, reason="OOMKilled")),
        ("kubeprop.test/unready", ImageScript(never_ready=True)),
        ("kubeprop.test/slow-start:30s", ImageScript(ready_after=30.0)),
        ("kubeprop.test/ignore-sigterm", ImageScript(ignores_sigterm=True)),
    ],
)
def test_the_image_table_says_what_each_image_does(reference, script):
    assert parse_script(parse_reference(reference)) == script


@pytest.mark.parametrize(
    ("reference", "says"),
    [
        ("kubeprop.test/exit", "must be <code> or <code>-after-<n>s"),
        ("kubeprop.test/exit:256", "0 <= code <= 255"),
        ("kubeprop.test/exit:1-after-xs", "must be <code> or <code>-after-<n>s"),
        ("kubeprop.test/exit:1-after-0s", "must be >= 1s"),
        ("kubeprop.test/slow-start:10", "must be <n>s"),
        (f"kubeprop.test/slow-start@{DIGEST}", "takes its parameter from the tag"),
        ("kubeprop.test/sleep", "has no repository 'sleep'"),
    ],
)
def test_a_test_image_that_names_no_behaviour_is_rejected_with_what_to_write_instead(
    reference, says
):
    with pytest.raises(images.ScriptError) as error:
        parse_script(parse_reference(reference))
    assert says in str(error.value)


def test_the_image_id_is_a_sha256_digest_that_depends_only_on_the_reference():
    first, second = parse_reference("nginx"), parse_reference("docker.io/library/nginx:latest")
    assert first.image_id == second.image_id
    assert first.image_id.startswith("sha256:") and len(first.image_id) == 7 + 64
    assert parse_reference("nginx:1").image_id != first.image_id


_COMPONENT = st.from_regex(r"\A[a-z0-9]{1,6}(?:[._-][a-z0-9]{1,4})?\Z")
_REFERENCES = st.builds(
    lambda domain, path, tag, digest: (
        (f"{domain}/" if domain else "")
        + "/".join(path)
        + (f":{tag}" if tag else "")
        + (f"@{digest}" if digest else "")
    ),
    st.sampled_from(["", "docker.io", "index.docker.io", "quay.io", "localhost:5000", "my.reg"]),
    st.lists(_COMPONENT, min_size=1, max_size=3),
    st.none() | st.from_regex(r"\A[A-Za-z0-9_][A-Za-z0-9_.-]{0,10}\Z"),
    st.none() | st.just(DIGEST),
)


@given(_REFERENCES)
def test_normalising_a_normalised_reference_changes_nothing(reference):
    name = parse_reference(reference)
    assert parse_reference(name.ref) == name
    assert name.ref.startswith(f"{name.domain}/") and (name.tag or name.digest)
    if name.domain == "docker.io" and "/" not in name.path:
        raise AssertionError(f"{name.ref}: a one-part docker.io name is under library/")


@given(_REFERENCES)
def test_a_pull_either_succeeds_or_fails_with_one_of_the_two_documented_errors(reference):
    error = images.pull_error(parse_reference(reference))
    assert error is None or error.endswith(("no such host", "not found"))
