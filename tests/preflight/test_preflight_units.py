"""In-process checks of the pieces: config conversion, marshalling, policy config, errors."""

from pathlib import Path

import pulumi
import pytest
from conftest import FIXTURES
from google.protobuf import json_format, struct_pb2
from pulumi.runtime.proto import analyzer_pb2

from preflight import project as project_module
from preflight.analyzer import (
    RESOURCE_SIG,
    SIG_KEY,
    UNKNOWN,
    engine_properties,
    go_duration,
    reconcile,
)
from preflight.capture import capture, engine_urn
from preflight.policy_config import read_policy_config
from preflight.program import describe
from preflight.project import (
    SECRET_PLACEHOLDER,
    UsageError,
    config_string,
    default_pack_dir,
    load_project,
    load_stack_config,
)

SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"


def test_stack_config_is_passed_as_the_cli_passes_it():
    project = load_project(FIXTURES / "project")
    assert project.name == "fixture"
    assert project.stack_config_dir == FIXTURES / "project" / "stacks"
    config = load_stack_config(project, "dev")
    assert config.values == {
        "fixture:mode": "normal",
        "fixture:dbPassword": SECRET_PLACEHOLDER,
        "fixture:settings": '{"retention":7,"owners":["ops","sec"]}',
        "fixture:enabled": "yes",  # YAML 1.2, as the CLI reads it: not a boolean
        "aws:region": "eu-west-1",
        "fixture:legacy-bucket": '{"exemptReason":"migrating off the public bucket by Q3"}',
    }
    assert config.secret_keys == ["fixture:dbPassword"]


def test_secure_value_nested_in_an_object_makes_the_key_secret(tmp_path: Path):
    (tmp_path / "Pulumi.yaml").write_text("name: p\nruntime: python\n")
    (tmp_path / "__main__.py").write_text("")
    (tmp_path / "Pulumi.s.yaml").write_text(
        "config:\n  db:\n    user: app\n    password:\n      secure: v1:abc\n  n: 3\n"
        "  on: true\n  ratio: 0.5\n")
    config = load_stack_config(load_project(tmp_path), "s")
    assert config.values == {"p:db": '{"user":"app","password":"[secret]"}', "p:n": "3",
                             "p:on": "true", "p:ratio": "0.5"}
    assert config.secret_keys == ["p:db"]


def test_config_string_scalars():
    assert [config_string(v) for v in ("x", True, False, 7, [1, "a"], {"b": 1})] == [
        "x", "true", "false", "7", '[1,"a"]', '{"b":1}']


def test_missing_project_file(tmp_path: Path):
    with pytest.raises(UsageError, match=r"^no Pulumi.yaml in .* \(use --project-dir\)$"):
        load_project(tmp_path)


def test_secret_config_reaches_resources_as_a_secret():
    def program():
        cfg = pulumi.Config("fixture")
        pulumi.CustomResource("fixture:index:Database", "db",
                              {"password": cfg.require_secret("dbPassword")})

    cap = capture(program, project="fixture", stack="dev",
                  config={"fixture:dbPassword": SECRET_PLACEHOLDER},
                  secret_keys=["fixture:dbPassword"], passthrough=True)
    props = engine_properties(cap.named("db").properties)
    password = props.fields["password"].struct_value.fields
    assert password[SIG_KEY].string_value == SECRET_SIG
    assert password["value"].string_value == SECRET_PLACEHOLDER


def test_resource_references_become_ids_or_urns():
    props = struct_pb2.Struct()
    props.update({
        "bucket": {SIG_KEY: RESOURCE_SIG, "urn": "urn:a", "id": ""},
        "component": {SIG_KEY: RESOURCE_SIG, "urn": "urn:c"},
        "list": [{SIG_KEY: RESOURCE_SIG, "urn": "urn:b", "id": "b-1"}],
        "plain": "x",
    })
    fixed = json_format.MessageToDict(engine_properties(props))
    assert fixed == {"bucket": UNKNOWN, "component": "urn:c", "list": ["b-1"], "plain": "x"}
    untouched = struct_pb2.Struct()
    untouched.update({"a": 1})
    assert engine_properties(untouched) is untouched  # no copy when nothing to fix


def test_go_durations():
    assert go_duration("5m") == 300
    assert go_duration("1h30m10s") == 5410
    assert go_duration("") == 0


def test_engine_urns_chain_parent_types_without_the_stack():
    stack = engine_urn("dev", "p", "", "pulumi:pulumi:Stack", "p-dev")
    outer = engine_urn("dev", "p", stack, "x:i:Outer", "o")
    assert outer == "urn:pulumi:dev::p::x:i:Outer::o"
    inner = engine_urn("dev", "p", outer, "x:i:Inner", "i")
    assert inner == "urn:pulumi:dev::p::x:i:Outer$x:i:Inner::i"
    assert engine_urn("dev", "p", inner, "x:i:B", "b") == \
        "urn:pulumi:dev::p::x:i:Outer$x:i:Inner$x:i:B::b"


def _info() -> analyzer_pb2.AnalyzerInfo:
    info = analyzer_pb2.AnalyzerInfo(name="pack", version="0.0.1", supportsConfig=True)
    a = info.policies.add(name="a", description="A", enforcementLevel=analyzer_pb2.MANDATORY)
    a.configSchema.properties.update({"max": {"type": "number", "default": 3}})
    info.policies.add(name="b", description="B", enforcementLevel=analyzer_pb2.ADVISORY)
    c = info.policies.add(name="c", description="C", enforcementLevel=analyzer_pb2.ADVISORY)
    c.configSchema.required.append("owner")
    info.initialConfig["c"].properties.update({"owner": "ops"})
    return info


def test_policy_config_all_then_each_policy():
    policies, warnings = reconcile(_info(), {"all": "disabled", "b": "mandatory",
                                             "a": {"max": 5}})
    assert {n: (p.level, p.default_level, p.config) for n, p in policies.items()} == {
        "a": ("disabled", "mandatory", {"max": 5}),
        "b": ("mandatory", "advisory", {}),
        "c": ("disabled", "advisory", {"owner": "ops"}),
    }
    assert warnings == []


def test_policy_config_names_only_the_packs_policies():
    with pytest.raises(UsageError) as err:
        reconcile(_info(), {"all": "disabled", "zz": "advisory", "a": {"max": "5"}})
    assert str(err.value).splitlines() == [
        "policy config: zz: unknown policy: the pack pack has no policy of that name",
        'policy config: a.max: must be a number (got "5")']


def test_policy_config_required_property():
    info = _info()
    del info.initialConfig["c"]
    with pytest.raises(UsageError, match=r"^invalid policy config: policy 'c' needs config "
                                         r"property 'owner'$"):
        reconcile(info, {})


def test_policy_config_file_must_be_an_object(tmp_path: Path):
    path = tmp_path / "p.json"
    path.write_text("[1]")
    with pytest.raises(UsageError) as err:
        read_policy_config(path)
    assert str(err.value) == f"{path}: must be a JSON object of policy names (got [1])"


def test_describe_names_the_program_frame(tmp_path: Path):
    source = tmp_path / "main.py"
    source.write_text("def f():\n    raise KeyError('svc')\nf()\n")
    try:
        exec(compile(source.read_text(), str(source), "exec"), {})
    except KeyError as exc:
        assert describe(exc, tmp_path) == "main.py:2: KeyError: 'svc'"


def test_describe_shows_config_errors_as_they_stand(tmp_path: Path):
    exc = pulumi.RunError("app:size: must be 1-5 (got 9)\napp:name: required")
    assert describe(exc, tmp_path) == "app:size: must be 1-5 (got 9)\napp:name: required"


def test_default_pack_is_the_project_s_own_else_the_installed_one(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import policies

    installed = Path(policies.__file__).resolve().parent
    assert default_pack_dir(tmp_path) == (installed, True)
    (tmp_path / "policies").mkdir()
    assert default_pack_dir(tmp_path) == (tmp_path / "policies", False)
    (tmp_path / "policies").rmdir()
    monkeypatch.setattr(project_module, "installed_pack", lambda: None)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UsageError) as err:
        default_pack_dir(tmp_path)
    assert str(err.value) == "no policy pack: pass --policy-pack DIR (policies does not exist)"


@pytest.mark.parametrize("claimed", [False, True])
def test_an_error_the_main_thread_claims_is_said_once(claimed: bool) -> None:
    """A watching thread that sees the pack refuse its config aborts (message, status 2)
    unless the main thread has claimed the ending to say the same error itself."""
    import subprocess
    import sys

    script = ("import sys\nfrom preflight.cli import _Guard\nguard = _Guard()\n"
              + ("guard.claim()\n" if claimed else "")
              + "guard.abort(['preflight: error: invalid policy config'])\n"
              "print('main thread goes on')\n")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60, check=False,
                          cwd=Path(__file__).resolve().parents[2])
    if claimed:
        assert (proc.returncode, proc.stdout, proc.stderr) == (0, "main thread goes on\n", "")
    else:
        assert (proc.returncode, proc.stdout, proc.stderr) == \
            (2, "", "preflight: error: invalid policy config\n")


def _targets() -> list:
    from preflight.analyzer import Target
    from preflight.capture import Registration

    provider = Registration(type="pulumi:providers:aws", name="default", urn="urn:p::default",
                            custom=True, parent="", provider="", properties=struct_pb2.Struct())
    props = struct_pb2.Struct()
    props.update({"bucket": "logs", "versioning": {"enabled": True}, "tags": ["a", 1]})
    bucket = Registration(type="aws:s3/bucket:Bucket", name="logs", urn="urn:b::logs",
                          custom=True, parent="urn:s::stack", provider="urn:p::default::id",
                          properties=props, dependencies=["urn:k::key"],
                          property_dependencies={"kms": ["urn:k::key"], "none": []},
                          protect=True, ignore_changes=["tags"],
                          custom_timeouts={"create": "5m", "update": "", "delete": "1h"})
    component = Registration(type="my:index:Site", name="site", urn="urn:c::site",
                             custom=False, parent="urn:s::stack", provider="")
    return [Target(provider), Target(bucket, provider), Target(component)]


def _field_by_field(target) -> analyzer_pb2.AnalyzerResource:
    reg = target.reg
    res = analyzer_pb2.AnalyzerResource(
        type=reg.type, properties=target.props(), urn=reg.urn, name=reg.name,
        options=target.options(), provider=target.provider_message(), parent=reg.parent,
        dependencies=reg.dependencies)
    for key, urns in reg.property_dependencies.items():
        if urns:
            res.propertyDependencies[key].urns.extend(urns)
    return res


@pytest.mark.parametrize("from_request", [True, False])
def test_the_stack_request_holds_each_resource_as_built_field_by_field(
        from_request: bool, monkeypatch: pytest.MonkeyPatch):
    # The AnalyzeStack entry starts from the Analyze request's bytes (the two messages share
    # fields 1-6); without that guarantee it is built field by field: the same either way.
    from preflight import analyzer

    assert analyzer._SAME_LEADING_FIELDS
    monkeypatch.setattr(analyzer, "_SAME_LEADING_FIELDS", from_request)
    targets = _targets()
    request = analyzer.stack_request(targets)
    expected = analyzer_pb2.AnalyzeStackRequest(resources=[_field_by_field(t) for t in targets])
    assert request == expected
    bucket = request.resources[1]
    assert (bucket.parent, list(bucket.dependencies), list(bucket.propertyDependencies)) == \
        ("urn:s::stack", ["urn:k::key"], ["kms"])
    assert bucket.options.protect and bucket.options.customTimeouts.delete == 3600
    assert bucket.provider.urn == "urn:p::default"


def test_only_messages_that_number_their_fields_alike_share_bytes():
    from preflight.analyzer import _same_fields

    assert _same_fields(analyzer_pb2.AnalyzeRequest, analyzer_pb2.AnalyzerResource)
    assert not _same_fields(analyzer_pb2.AnalyzerResource, analyzer_pb2.AnalyzeRequest)
    assert not _same_fields(analyzer_pb2.AnalyzeRequest, analyzer_pb2.AnalyzeResponse)


def test_not_applicable_answers_are_counted_per_resource_whatever_they_share():
    from preflight.analyzer import PolicyMeta
    from preflight.report import classify

    targets = _targets()
    same = analyzer_pb2.AnalyzeResponse()
    for name in ("a", "b"):
        same.not_applicable.add(policy_name=name, reason="type")
    flagged = analyzer_pb2.AnalyzeResponse()
    flagged.CopyFrom(same)
    flagged.diagnostics.add(policyName="c", message="bad", urn="", enforcementLevel=1)
    other = analyzer_pb2.AnalyzeResponse()
    other.not_applicable.add(policy_name="a", reason="type")
    responses = [(targets[0], same), (targets[1], flagged), (targets[2], same),
                 (targets[2], other)]
    policies = {n: PolicyMeta(n, "", "mandatory", "mandatory") for n in "abc"}
    found = classify(responses, analyzer_pb2.AnalyzeResponse(), policies,
                     {t.reg.urn: t.reg for t in targets})
    assert found.skipped == {"urn:p::default": {"a", "b"}, "urn:b::logs": {"a", "b"},
                             "urn:c::site": {"a", "b"}}
    assert found.not_applicable == {"a": 4, "b": 3}
    assert [(f.policy, f.urn) for f in found.violations] == [("c", "urn:b::logs")]


def test_between_passes_only_the_projects_own_modules_are_forgotten(tmp_path: Path):
    import sys
    import types

    from preflight.program import forget_program_modules

    root, outside = tmp_path / "project", tmp_path / "elsewhere"
    for path in (root / "app" / "helper.py", root / ".venv" / "lib" / "site-packages" / "lib.py",
                 root / "venv" / "tool.py", root / "real.py", outside / "other.py",
                 outside / "shared" / "m.py"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("")
    (outside / "linked.py").symlink_to(root / "real.py")  # a file that is a link into it
    (root / "shared").symlink_to(outside / "shared")  # a directory that leads out of it
    files = {
        "t_helper": root / "app" / "helper.py",
        "t_lib": root / ".venv" / "lib" / "site-packages" / "lib.py",
        "t_tool": root / "venv" / "tool.py",
        "t_linked": outside / "linked.py",
        "t_other": outside / "other.py",
        "t_shared": root / "shared" / "m.py",
        "preflight.t_own": root / "app" / "helper.py",
    }
    for name, path in files.items():
        module = types.ModuleType(name)
        module.__file__ = str(path)
        sys.modules[name] = module
    try:
        forget_program_modules(root)
        assert {name for name in files if name in sys.modules} == \
            {"t_lib", "t_tool", "t_other", "t_shared", "preflight.t_own"}
    finally:
        for name in files:
            sys.modules.pop(name, None)


def test_registrations_carry_the_order_the_program_constructed_them_in():
    # They reach the monitor in whatever order the SDK's threads finish; the number each
    # carries puts reports back in the program's order, the same on every run.
    import pulumi_aws as aws

    def program() -> None:
        key = aws.kms.Key("key")
        for i in range(20):
            aws.sqs.Queue(f"q{i}", kms_master_key_id=key.arn)
            aws.s3.Bucket(f"b{i}")

    constructed = ["key", *[name for i in range(20) for name in (f"q{i}", f"b{i}")]]
    for _ in range(2):
        regs = {r.name: r for r in capture(program, passthrough=True,
                                           config={"aws:region": "us-east-1"}).registrations}
        orders = [regs[name].order for name in constructed]
        assert orders[0] > 0 and orders == sorted(set(orders))  # unique, in program order
