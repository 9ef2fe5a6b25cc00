"""The golden fixtures of protocol/fixtures: every message parses, every invalid one is refused."""

import json
import unittest
from pathlib import Path

from riffle_runner.errors import ProtocolError
from riffle_runner.protocol import FROM_ORCHESTRATOR, FROM_RUNNER, parse

FIXTURES = Path(__file__).resolve().parents[3] / "protocol" / "fixtures"


class Fixtures(unittest.TestCase):
    def test_every_runner_message_parses(self) -> None:
        files = sorted((FIXTURES / "runner").glob("*.json"))
        self.assertEqual(len(files), 9)
        for file in files:
            with self.subTest(file=file.name):
                message = parse(file.read_text(), FROM_RUNNER)
                self.assertEqual(message["type"], file.stem)
                self.assertEqual(message, json.loads(file.read_text()))

    def test_every_orchestrator_message_parses(self) -> None:
        files = sorted((FIXTURES / "orchestrator").glob("*.json"))
        self.assertEqual(len(files), 7)
        for file in files:
            with self.subTest(file=file.name):
                self.assertEqual(parse(file.read_text(), FROM_ORCHESTRATOR)["type"], file.stem)

    def test_every_invalid_message_is_refused(self) -> None:
        files = sorted((FIXTURES / "invalid").glob("*.json"))
        self.assertEqual(len(files), 5)
        for file in files:
            for schema in (FROM_RUNNER, FROM_ORCHESTRATOR):
                with self.subTest(file=file.name), self.assertRaises(ProtocolError):
                    parse(file.read_text(), schema)

    def test_the_invalid_messages_are_refused_for_their_reason(self) -> None:
        reasons = {
            "failed-with-unknown-phase": "failed: invalid field 'phase': \"shutdown\"",
            "hello-without-secret": "hello: missing field 'secret'",
            "log-with-unknown-level": "log: invalid field 'level': \"loud\"",
            "unknown-type": 'unknown control message type "launch"',
        }
        for name, reason in reasons.items():
            with self.subTest(name=name):
                with self.assertRaises(ProtocolError) as caught:
                    parse((FIXTURES / "invalid" / f"{name}.json").read_text(), FROM_RUNNER)
                self.assertEqual(str(caught.exception), reason)
        with self.assertRaises(ProtocolError) as caught:
            parse((FIXTURES / "invalid" / "not-json.json").read_text(), FROM_RUNNER)
        self.assertTrue(str(caught.exception).startswith("a control message is not JSON: "))

    def test_the_whole_session_parses_from_each_side(self) -> None:
        lines = (FIXTURES / "session.jsonl").read_text().splitlines()
        self.assertEqual(len(lines), 16)
        for line in lines:
            entry = json.loads(line)
            schema = FROM_RUNNER if entry["from"] == "runner" else FROM_ORCHESTRATOR
            self.assertEqual(parse(json.dumps(entry["message"]), schema), entry["message"])

    def test_unknown_fields_are_ignored(self) -> None:
        message = parse('{"type": "stop", "reason": "done", "later": [1, 2]}', FROM_ORCHESTRATOR)
        self.assertEqual(message["reason"], "done")


if __name__ == "__main__":
    unittest.main()
