#!/usr/bin/env python3
"""Runs every block of README.md as written, so the README stays true.

Each fenced block is preceded by a marker comment saying what to do with it:
  <!-- readme-test: server -->            starts keytrail (run in the background)
  <!-- readme-test: run -->               run against that keytrail (sh blocks share one shell, in order; python blocks with python3)
  <!-- readme-test: config FILE -->       the config file: written to FILE in a temporary directory, then keytrail started with it
  <!-- readme-test: run-with-config -->   run against the keytrail started with the config file
  <!-- readme-test: run-alone TEXT -->    a block that starts its own keytrail: run in a shell of its own, with the quick
                                          start's CLI settings; its output must hold TEXT
  <!-- readme-test: rust PATH -->         Rust code that must be, line for line, in PATH (which the build compiles); quickstart.rs is run
  <!-- readme-test: skip (why) -->        not run, for the reason given
A block without a marker fails the test, as does a config field (crates/server/src/config.rs)
the README does not document.

The one change made to the blocks: 127.0.0.1:4599 becomes a free port (KEYTRAIL_LISTEN for the
server block), so the test never collides with a keytrail already running. The AWS CLI and
boto3 get an empty AWS config file, so nothing on the machine changes their answers; the Rust
quick start gets the environment the CLI block exports. Needs the AWS CLI, boto3, curl and a
built workspace (scripts/test builds it first).
"""

import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("KEYTRAIL_BIN", os.path.join(ROOT, "target", "debug", "keytrail"))


def fail(message):
    print(f"e2e_readme: FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def say(message):
    print(f"e2e_readme: {message}", flush=True)


def blocks(text):
    """(marker, language, body) for every fenced block, in order."""
    out = []
    pattern = re.compile(r"(?:<!-- readme-test: (?P<marker>[^>]*?) -->\n)?```(?P<lang>\w*)[^\n]*\n(?P<body>.*?)```", re.S)
    for m in pattern.finditer(text):
        out.append((m.group("marker"), m.group("lang"), m.group("body")))
    return out


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def check_config_fields_documented(readme):
    """Every field the config file accepts appears in the README's config block."""
    source = open(os.path.join(ROOT, "crates", "server", "src", "config.rs")).read()
    fields = set()
    for struct in re.finditer(r"pub struct (\w+) \{(.*?)\n\}", source, re.S):
        fields.update(re.findall(r"^\s*pub (\w+):", struct.group(2), re.M))
    config = next(body for marker, lang, body in blocks(readme) if marker and marker.startswith("config"))
    missing = sorted(f for f in fields if not re.search(rf"(^|[\s{{,]){f}\s*=|^\[\[{f}\]\]", config, re.M))
    if missing:
        fail(f"config fields the README's config example does not show: {missing}")
    say(f"all {len(fields)} config fields documented")


def check_rust(body, path):
    """The block's lines, stripped, are consecutive lines of `path`."""
    want = [l.strip() for l in body.strip().splitlines()]
    have = [l.strip() for l in open(os.path.join(ROOT, path)).read().splitlines()]
    for i in range(len(have) - len(want) + 1):
        if have[i : i + len(want)] == want:
            return
    fail(f"the README's Rust block is not the text of {path}")


class Keytrail:
    """A keytrail started from a command, stopped with SIGTERM."""

    def __init__(self, command, env, workdir, label):
        self.log = open(os.path.join(workdir, f"{label}.log"), "w+")
        self.out = open(os.path.join(workdir, f"{label}.out"), "w+")
        self.proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=self.out, stderr=self.log, start_new_session=True)
        deadline = time.time() + 300
        while time.time() < deadline:
            self.log.seek(0)
            if re.search(r"^keytrail listening on ", self.log.read(), re.M):
                return
            if self.proc.poll() is not None:
                self.log.seek(0)
                fail(f"{label} keytrail exited: {self.log.read()[-2000:]}")
            time.sleep(0.1)
        self.stop()
        fail(f"{label} keytrail did not say where it listens")

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    def records_printed(self):
        self.out.seek(0)
        return [line for line in self.out.read().splitlines() if line.startswith("{")]


def run_shell(blocks_text, env, workdir, label):
    script = "set -euo pipefail\n" + "\n".join(blocks_text)
    result = subprocess.run(["bash", "-c", script], cwd=workdir, env=env, capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        fail(f"{label} blocks failed ({result.returncode}):\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result.stdout


def run_alone(body, env, workdir, label):
    """Runs a block that starts servers of its own (`cargo run … &`) as a user would: from the
    checkout, in a session of its own, so whatever it leaves running is stopped afterwards (a
    `kill` of `cargo run` leaves its keytrail child behind). Output goes to files: a pipe would
    stay open as long as a leftover child holds it."""
    out_path, err_path = (os.path.join(workdir, f"{label}.{ext}") for ext in ("out", "err"))
    with open(out_path, "w") as out, open(err_path, "w") as err:
        proc = subprocess.Popen(["bash", "-c", "set -euo pipefail\n" + body], cwd=ROOT, env=env, stdout=out, stderr=err, start_new_session=True)
        try:
            rc = proc.wait(timeout=600)
        except subprocess.TimeoutExpired:
            rc = None
        finally:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    output, errors = open(out_path).read(), open(err_path).read()
    if rc != 0:
        fail(f"{label} block {'timed out' if rc is None else f'failed ({rc})'}:\n{output[-3000:]}\n{errors[-3000:]}")
    return output


def expect(output, needle, label):
    if needle not in output:
        fail(f"{label}: expected {needle!r} in the output:\n{output[-3000:]}")


def main():
    readme = open(os.path.join(ROOT, "README.md")).read()
    port = free_port()
    local = lambda text: text.replace("127.0.0.1:4599", f"127.0.0.1:{port}")
    found = blocks(readme)
    unmarked = [body.splitlines()[0] if body else "" for marker, _, body in found if not marker]
    if unmarked:
        fail(f"README blocks without a readme-test marker: {unmarked}")
    check_config_fields_documented(readme)
    workdir = tempfile.mkdtemp(prefix="keytrail-readme-")
    env = dict(os.environ)
    env.pop("RUST_LOG", None)
    for k in [k for k in env if k.startswith("AWS_") or k.startswith("KEYTRAIL_")]:
        del env[k]
    open(os.path.join(workdir, "aws-config"), "w").close()
    env.update({"AWS_CONFIG_FILE": os.path.join(workdir, "aws-config"), "AWS_SHARED_CREDENTIALS_FILE": os.path.join(workdir, "aws-credentials")})

    for marker, lang, body in found:
        if marker.startswith("rust "):
            check_rust(body, marker.split(" ", 1)[1])
    say("Rust blocks are the text of the files the build compiles")

    # Phase 1: the server block, then the blocks run against it.
    server_block = next(body for marker, _, body in found if marker == "server")
    server = Keytrail(["bash", "-c", local(server_block)], dict(env, KEYTRAIL_LISTEN=f"127.0.0.1:{port}"), workdir, "server")
    try:
        shell = [local(body) for marker, lang, body in found if marker == "run" and lang == "sh"]
        out = run_shell(shell, env, workdir, "quick start")
        expect(out, "hello", "CLI decrypt")
        expect(out, "arn:aws:iam::111122223333:root", "get-caller-identity")
        expect(out, ".json.gz", "trail log file")
        say(f"{len(shell)} shell blocks ran")
        for marker, lang, body in found:
            if marker == "run" and lang == "python":
                result = subprocess.run([sys.executable, "-c", local(body)], env=env, capture_output=True, text=True, timeout=120)
                if result.returncode != 0:
                    fail(f"python block failed: {result.stderr[-3000:]}")
                expect(result.stdout, "b'hello'", "boto3 block")
        say("the boto3 block ran")
        cli_env = dict(
            env,
            AWS_ENDPOINT_URL=f"http://127.0.0.1:{port}",
            AWS_ACCESS_KEY_ID="AKIAEXAMPLE",
            AWS_SECRET_ACCESS_KEY="any",
            AWS_DEFAULT_REGION="us-east-1",
        )
        result = subprocess.run(
            ["cargo", "run", "--locked", "-q", "-p", "keytrail-tests", "--example", "quickstart"],
            cwd=ROOT,
            env=cli_env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        if result.returncode != 0:
            fail(f"the Rust quick start failed: {result.stderr[-3000:]}")
        expect(result.stdout, 'Some("hello")', "Rust quick start")
        say("the Rust quick start ran")
    finally:
        server.stop()
    printed = server.records_printed()
    if not any('"eventName":"Decrypt"' in line for line in printed):
        fail("--events-out - printed no Decrypt record")
    say(f"the server printed {len(printed)} records on stdout")

    # Phase 2: the config file, and the blocks run against keytrail started with it.
    marker, _, config = next(b for b in found if b[0] and b[0].startswith("config "))
    path = os.path.join(workdir, marker.split(" ", 1)[1])
    with open(path, "w") as f:
        f.write(local(config))
    server = Keytrail([BIN, "--config", path], env, workdir, "config")
    try:
        shell = [local(body) for marker, lang, body in found if marker == "run-with-config" and lang == "sh"]
        out = run_shell(shell, env, workdir, "with the config file")
        expect(out, "arn:aws:iam::111122223333:user/alice", "alice")
        expect(out, "arn:aws:sts::444455556666:assumed-role/app/demo", "the role session")
        expect(out, "arn:aws:kms:us-east-1:111122223333:key/11111111-2222-3333-4444-555555555555", "the seeded key")
        expect(out, '"eventSource":"sts.amazonaws.com"', "the AssumeRole record")
        say("the config file starts keytrail as shown, and the STS block ran")
    finally:
        server.stop()

    # Phase 3: blocks that start a keytrail of their own (a seeded config, on a port of their own).
    alone_env = dict(env, AWS_ACCESS_KEY_ID="AKIAEXAMPLE", AWS_SECRET_ACCESS_KEY="any", AWS_DEFAULT_REGION="us-east-1")
    alone = [(marker.split(" ", 1)[1], local(body)) for marker, lang, body in found if marker.startswith("run-alone ")]
    for i, (wanted, body) in enumerate(alone):
        out = run_alone(body, alone_env, workdir, f"alone-{i}")
        expect(out, wanted, f"the block starting {body.splitlines()[0]!r}")
    say(f"{len(alone)} blocks with their own keytrail ran")
    say("OK")


if __name__ == "__main__":
    main()
