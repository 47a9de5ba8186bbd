"""The man pages (man/werkmonitord.8, man/werkmonitor.1) stay true to the programs'
--help: every option and command the help texts name is in the page, and the page names
no option the programs do not have; groff formats them without a warning."""

import os
import re
import shutil
import subprocess
import unittest

import wmtest

MAN = os.path.join(wmtest.SOURCE_DIR, "man")


def run(*argv):
    p = subprocess.run(list(argv), capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
    return (p.stdout + p.stderr).decode()


def page_text(name):
    """The roff source with its escapes for '-' undone and without its EXAMPLES
    section (which may show other programs' options)."""
    with open(os.path.join(MAN, name)) as f:
        text = f.read().replace("\\-", "-")
    return re.sub(r"^\.SH EXAMPLES\n.*?(?=^\.SH )", "", text, flags=re.M | re.S)


def long_options(text):
    return set(re.findall(r"(?<![\w-])--([a-z][a-z-]*[a-z])", text))


class ManPageTest(unittest.TestCase):
    def test_werkmonitord_page_has_every_option(self):
        helptext = run(wmtest.DAEMON, "--help")
        page = page_text("werkmonitord.8")
        opts = long_options(helptext)
        self.assertIn("registry", opts)
        # the maintenance commands: each in the page, with its options
        commands = re.findall(r"^  ([a-z]+) ", helptext.split("Commands")[1].split("\n\n")[0], re.M)
        self.assertEqual(commands, ["backup", "verify", "export", "restore"])
        for cmd in commands:
            self.assertTrue(re.search(r'^\.(B|BI|BR) "?%s\b' % cmd, page, re.M),
                            "command %s missing from the page" % cmd)
            opts |= long_options(run(wmtest.DAEMON, cmd, "--help"))
        self.assertEqual(opts - long_options(page), set(), "options of --help missing from the page")
        self.assertEqual(long_options(page) - opts, set(), "options in the page that --help lacks")

    def test_werkmonitor_page_has_every_command_and_option(self):
        main = run(wmtest.CLIENT, "--help")
        page = page_text("werkmonitor.1")
        commands = re.findall(r"^  ([a-z]+) ", main.split("Commands:")[1].split("Options")[0], re.M)
        self.assertGreater(len(commands), 10)
        helptexts = main
        for cmd in commands:
            self.assertTrue(re.search(r'^\.(B|BI|BR) "?%s\b' % cmd, page, re.M),
                            "command %s missing from the page" % cmd)
            if cmd != "help":
                helptexts += run(wmtest.CLIENT, cmd, "--help")
        opts = long_options(helptexts)
        self.assertEqual(opts - long_options(page), set(), "options of the help texts missing from the page")
        self.assertEqual(long_options(page) - opts, set(), "options in the page that no help text has")
        for code in ("0", "1", "2", "64"):
            self.assertRegex(page, r"\n\.TP\n%s\n" % code)

    @unittest.skipUnless(shutil.which("groff"), "groff is not installed")
    def test_groff_formats_them_without_warnings(self):
        for name in ("werkmonitord.8", "werkmonitor.1"):
            p = subprocess.run(["groff", "-man", "-ww", "-z", "-Tutf8", os.path.join(MAN, name)],
                               capture_output=True, timeout=60)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(p.stderr, b"", name)


if __name__ == "__main__":
    unittest.main()
