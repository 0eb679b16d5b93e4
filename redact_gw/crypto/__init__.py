"""Keys and sealing. ``aead`` is the only module that imports cryptography's hazmat."""
