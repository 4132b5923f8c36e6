"""Sub-commands of `bearwatch`; each module exposes `register(subparsers)`."""
