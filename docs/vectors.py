#!/usr/bin/env python3
"""Known-answer vectors for PROTOCOL.md (version 2), computed from the text of
the specification with Python's hashlib and the `cryptography` package, not
from the Swift code. Tests/P22PCryptoTests/KnownAnswerTests.swift checks that
the Swift implementation produces exactly these bytes.

    python3 docs/vectors.py        # needs: pip install cryptography
"""
import hashlib
import hmac

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

RAW = serialization.Encoding.Raw, serialization.PublicFormat.Raw


def sstr(text):
    data = text.encode()
    return bytes([len(data)]) + data


def hkdf(ikm, info, length, salt=None):
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(ikm)


def ed25519(seed):
    key = Ed25519PrivateKey.from_private_bytes(seed)
    return key, key.public_key().public_bytes(*RAW)


def x25519(private):
    key = X25519PrivateKey.from_private_bytes(private)
    return key, key.public_key().public_bytes(*RAW)


def show(name, value):
    print(f"{name:<14}= {value.hex() if isinstance(value, bytes) else value}")


# 3. Key derivation, at the standard cost.
password, group = "correct horse battery staple", "demo"
salt, log_n, r, p = bytes(range(16)), 17, 8, 1
derivation = salt + bytes([log_n, r, p])
master = hashlib.scrypt(password.encode(), salt=b"p22p-group-v2:" + sstr(group) + salt,
                        n=1 << log_n, r=r, p=p, dklen=32, maxmem=256 << 20)
auth_seed = hkdf(master, b"p22p-auth-key-v1", 32)
group_key = hkdf(master, b"p22p-group-key-v1", 32)
auth_key, auth_public = ed25519(auth_seed)
print("## Key derivation")
show("password", password)
show("group", group)
show("derivation", derivation)
show("master", master)
show("auth public", auth_public)
show("group key", group_key)

# 2.3 A join's transcript and its two signatures.
challenge = bytes(range(32))
member_key, member_public = ed25519(bytes([2] * 32))
transcript = b"p22p-auth-v2" + challenge + bytes([2]) + sstr(group) + sstr("laptop") + member_public
print("## Join of laptop (member key seed 02 x 32), challenge 00..1f")
show("member key", member_public)
show("transcript", transcript)
show("signature", auth_key.sign(transcript))
show("member sig", member_key.sign(transcript))

# 5. Pair handshake: laptop (CID 1) initiates to home-pc (CID 2).
i_static, i_static_public = ed25519(bytes([3] * 32))
r_static, r_static_public = ed25519(bytes([5] * 32))
i_eph, i_eph_public = x25519(bytes([4] * 32))
r_eph, r_eph_public = x25519(bytes([6] * 32))
t_init = (b"p22p-pair-init-v2" + sstr(group) + (1).to_bytes(2, "big") + (2).to_bytes(2, "big")
          + sstr("laptop") + i_static_public + i_eph_public)
sig_i = i_static.sign(t_init)
mac_i = hmac.new(group_key, t_init + sig_i, hashlib.sha256).digest()
init_frame = bytes([0x01]) + i_eph_public + i_static_public + sstr("laptop") + sig_i + mac_i
t_resp = (b"p22p-pair-resp-v2" + hashlib.sha256(t_init + sig_i).digest() + sstr("home-pc")
          + r_static_public + r_eph_public)
sig_r = r_static.sign(t_resp)
mac_r = hmac.new(group_key, t_resp + sig_r, hashlib.sha256).digest()
response_frame = bytes([0x02]) + r_eph_public + r_static_public + sstr("home-pc") + sig_r + mac_r
shared = i_eph.exchange(X25519PrivateKey.from_private_bytes(bytes([6] * 32)).public_key())
keys = hkdf(shared, b"p22p-pair-session-v2" + hashlib.sha256(t_resp + sig_r).digest(), 64, salt=group_key)
i2r, r2i = keys[:32], keys[32:]
print("## Pair handshake (statics 03 x 32 and 05 x 32, ephemerals 04 x 32 and 06 x 32)")
show("init frame", init_frame)
show("response", response_frame)
show("laptop->home", i2r)
show("home->laptop", r2i)

# 6. Sealed frames under laptop->home-pc: data "hello" then finish(5) on stream 1.
def sealed(key, kind, stream, counter, index, plaintext):
    header = bytes([0x03, kind]) + stream.to_bytes(4, "big") + counter.to_bytes(8, "big")
    nonce = bytes(4) + counter.to_bytes(8, "big")
    return header + AESGCM(key).encrypt(nonce, plaintext, header + index.to_bytes(8, "big"))


print("## Sealed frames")
show("data hello", sealed(i2r, 4, 1, 0, 0, b"hello"))
show("finish(5)", sealed(i2r, 6, 1, 1, 1, (5).to_bytes(8, "big")))
show("rekey", sealed(i2r, 10, 0, 2, 0, b""))
next_key = hkdf(i2r, b"p22p-rekey-v1", 32)
show("next key", next_key)
show("data after", sealed(next_key, 4, 1, 0, 2, b"world"))
