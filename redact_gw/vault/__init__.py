"""The vault: sealed originals, one data key per record.

``base`` defines the storage seam (``VaultStore``) and its rows; ``sqlite`` and
``postgres`` implement it; ``service.Vault`` adds the cryptography on top, so stores
only ever see ciphertext, wrapped keys and keyed fingerprints.
"""
