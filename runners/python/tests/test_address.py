import unittest

from riffle_runner.address import announced, listen_address


class AddressTest(unittest.TestCase):
    def test_a_runner_binds_where_it_reached_the_orchestrator_unless_told(self):
        self.assertEqual(listen_address(None, "10.0.0.7"), "10.0.0.7:0")
        self.assertEqual(listen_address(None, "fd00::7"), "[fd00::7]:0")
        self.assertEqual(listen_address("0.0.0.0:7001", "10.0.0.7"), "0.0.0.0:7001")

    def test_the_announced_address_is_reachable_from_where_the_orchestrator_is(self):
        control = "10.0.0.7"
        self.assertEqual(announced(("10.0.0.7", 4000), None, control), "10.0.0.7:4000")
        self.assertEqual(announced(("0.0.0.0", 4000), None, control), "10.0.0.7:4000")
        self.assertEqual(announced(("::", 4000, 0, 0), None, control), "10.0.0.7:4000")
        self.assertEqual(announced(("0.0.0.0", 4000), "b.lan", control), "b.lan:4000")
        self.assertEqual(announced(("0.0.0.0", 4000), "b.lan:80", control), "b.lan:80")
        self.assertEqual(announced(("0.0.0.0", 4000), "fd00::2", control), "[fd00::2]:4000")
        self.assertEqual(announced(("0.0.0.0", 4000), "[fd00::2]:81", control), "[fd00::2]:81")


if __name__ == "__main__":
    unittest.main()
