"""A real S3 server for morsel's tests: moto on 127.0.0.1, with signatures checked.

Started by tests/s3.rs. It starts `moto_server` on a free port with
authentication on, creates an IAM user whose access key the tests use, and
prints one JSON line: {"endpoint": ..., "key": ..., "secret": ...}. Then it
answers commands on stdin, one per line, with one line on stdout:

    bucket NAME                  create a bucket                    -> ok

(The tests put and list objects with object_store, the client morsel uses.)

When stdin closes (the test process ended) it stops the server.
"""

import json
import os
import socket
import subprocess
import sys
import time

import boto3


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(port, server):
    deadline = time.time() + 60
    while time.time() < deadline:
        if server.poll() is not None:
            sys.exit(f"moto_server exited with status {server.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    sys.exit("moto_server did not start within 60 s")


def main():
    port = free_port()
    # The first three requests (the IAM setup below) need no signature;
    # everything after must be signed with a key moto knows.
    env = dict(os.environ, INITIAL_NO_AUTH_ACTION_COUNT="3")
    server = subprocess.Popen(
        ["moto_server", "-H", "127.0.0.1", "-p", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(port, server)
        endpoint = f"http://127.0.0.1:{port}"
        common = dict(endpoint_url=endpoint, region_name="us-east-1")
        iam = boto3.client("iam", aws_access_key_id="setup", aws_secret_access_key="setup", **common)
        iam.create_user(UserName="morsel")
        policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
        iam.put_user_policy(UserName="morsel", PolicyName="all", PolicyDocument=json.dumps(policy))
        key = iam.create_access_key(UserName="morsel")["AccessKey"]
        s3 = boto3.client(
            "s3",
            aws_access_key_id=key["AccessKeyId"],
            aws_secret_access_key=key["SecretAccessKey"],
            **common,
        )
        print(json.dumps({"endpoint": endpoint, "key": key["AccessKeyId"], "secret": key["SecretAccessKey"]}), flush=True)
        for line in sys.stdin:
            print(answer(s3, line.split()), flush=True)
    finally:
        server.terminate()
        server.wait()


def answer(s3, words):
    try:
        if words[0] == "bucket":
            s3.create_bucket(Bucket=words[1])
            return "ok"
        return f"error: unknown command {words[0]}"
    except Exception as e:  # the test reads this line and fails with it
        return f"error: {e}"


if __name__ == "__main__":
    main()
