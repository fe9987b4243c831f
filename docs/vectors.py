#!/usr/bin/env python3
"""Known-answer vectors for PROTOCOL.md (version 3), computed from the text of
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
# 96 bytes: the two directional keys, then the session's resumption secret
# (HKDF output is a stream, so the first 64 bytes are version 2's keys).
keys = hkdf(shared, b"p22p-pair-session-v2" + hashlib.sha256(t_resp + sig_r).digest(), 96, salt=group_key)
i2r, r2i, resumption = keys[:32], keys[32:64], keys[64:]
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


# 5.2, 7.5 Resumption: the session above, resumed with new CIDs (laptop now
# CID 7, home-pc CID 9, as after a relay restart), same static keys, new
# ephemeral keys 07 x 32 and 08 x 32. The init offers the ticket, the
# response echoes it; both ids end their transcripts.
def ticket_id(secret):
    return hashlib.sha256(b"p22p-resume-id-v3" + secret).digest()[:16]


offer = ticket_id(resumption)
i_eph2, i_eph2_public = x25519(bytes([7] * 32))
r_eph2, r_eph2_public = x25519(bytes([8] * 32))
t_init2 = (b"p22p-pair-init-v2" + sstr(group) + (7).to_bytes(2, "big") + (9).to_bytes(2, "big")
           + sstr("laptop") + i_static_public + i_eph2_public + offer)
sig_i2 = i_static.sign(t_init2)
mac_i2 = hmac.new(group_key, t_init2 + sig_i2, hashlib.sha256).digest()
init_frame2 = bytes([0x01]) + i_eph2_public + i_static_public + sstr("laptop") + sig_i2 + mac_i2 + offer
t_resp2 = (b"p22p-pair-resp-v2" + hashlib.sha256(t_init2 + sig_i2).digest() + sstr("home-pc")
           + r_static_public + r_eph2_public + offer)
sig_r2 = r_static.sign(t_resp2)
mac_r2 = hmac.new(group_key, t_resp2 + sig_r2, hashlib.sha256).digest()
response_frame2 = bytes([0x02]) + r_eph2_public + r_static_public + sstr("home-pc") + sig_r2 + mac_r2 + offer
shared2 = i_eph2.exchange(r_eph2.public_key())
keys2 = hkdf(shared2 + resumption, b"p22p-pair-resume-v3" + hashlib.sha256(t_resp2 + sig_r2).digest(), 96, salt=group_key)
i2r2, r2i2, resumption2 = keys2[:32], keys2[32:64], keys2[64:]
print("## Resumption (first session above; then CIDs 7 and 9, ephemerals 07 x 32 and 08 x 32)")
show("resumption", resumption)
show("ticket id", offer)
show("init frame", init_frame2)
show("response", response_frame2)
show("laptop->home", i2r2)
show("home->laptop", r2i2)
show("next secret", resumption2)
show("next ticket", ticket_id(resumption2))

# 7.5 home-pc's stream list, its first frame in the resumed session (counter
# 0, stream 0 index 0, under home->laptop): stream 1 (home-pc's own, as
# "home-pc" sorts before "laptop"), 5 bytes received (as if only the "hello"
# above had arrived), nothing granted yet, credit 1 MiB - 5, open, laptop's
# finish not received; the last (and only) message of the list.
entry = ((1).to_bytes(4, "big") + (5).to_bytes(8, "big") + (0).to_bytes(8, "big")
         + (1048571).to_bytes(4, "big") + bytes([0x01]))
show("resume list", sealed(r2i2, 11, 0, 0, 0, bytes([1]) + entry))
