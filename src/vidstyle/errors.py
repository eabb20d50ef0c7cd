"""The one exception type that the command line turns into a one-line message and exit status 2."""


class VidstyleInputError(ValueError):
    """Bad user input: a missing or undecodable file, an invalid option value, an invalid adapter.

    Raised by library code for anything the user can fix; the CLI prints ``str(err)`` on one line.
    """
