#!/usr/bin/env python3
"""Known-answer vectors for docs/catalog-authentication.md, from an implementation that shares
no code with Bantay or bantay-recover.mjs (Python standard library + pyca/cryptography).

Run: python3 docs/vectors/make-vectors.py > docs/vectors/format2.json
"""
import hashlib, hmac, json, struct
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives import hashes

MASTER = bytes(range(32))

def hkdf(ikm, salt, info):
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(ikm)

def key_id(key):
    return "k1:" + hmac.new(key, b"bantay key id v1", hashlib.sha256).hexdigest()[:16]

def jcs(value):
    # RFC 8785 for the value space Bantay's records use: ASCII member names, integers,
    # strings, booleans, null, arrays, objects (member names sorted by UTF-16 code units).
    if isinstance(value, dict):
        items = sorted(value.items(), key=lambda kv: kv[0].encode("utf-16-be"))
        return "{" + ",".join(json.dumps(k, ensure_ascii=False) + ":" + jcs(v) for k, v in items) + "}"
    if isinstance(value, list):
        return "[" + ",".join(jcs(v) for v in value) + "]"
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return json.dumps(value, ensure_ascii=False)
    raise TypeError("value outside the vector's value space: %r" % (value,))

def record_tag(master, object_key, record):
    k_catalog = hkdf(master, b"", b"bantay catalog v1 hmac-sha256")
    body = {k: v for k, v in record.items() if k != "auth"}
    msg = b"bantay record v1\x00" + object_key.encode() + b"\x00" + jcs(body).encode()
    return jcs(body), hmac.new(k_catalog, msg, hashlib.sha256).hexdigest()

def stream_v2(master, object_key, plaintext, chunk_size, salt, prefix):
    kid = key_id(master)[3:].encode()
    head = b"BANTAY\x00E" + bytes([2]) + struct.pack(">I", chunk_size) + kid + salt + prefix
    head += hashlib.sha256(head).digest()[:8]
    k = hkdf(master, salt, b"bantay stream v2 aes-256-gcm\x00" + object_key.encode())
    aead, out = AESGCM(k), bytearray(head)
    chunks = [plaintext[i:i + chunk_size] for i in range(0, len(plaintext), chunk_size)]
    if len(plaintext) % chunk_size == 0:
        chunks.append(b"")
    for i, chunk in enumerate(chunks):
        last = 1 if i == len(chunks) - 1 else 0
        out += aead.encrypt(prefix + struct.pack(">I", i) + bytes([last]), chunk, bytes(head))
    return bytes(out)

record_key = "backups/db-20261126T020000Z-7f3a/manifest.json"
record = {
    "formatVersion": 2,
    "id": "db-20261126T020000Z-7f3a",
    "kind": "database",
    "createdAt": "2026-11-26T02:00:00.000Z",
    "label": "Pasko \u00f1 \u2014 \u20b1100 \"quoted\"\n",
    "tables": {"public.sales": 1200, "\"a.b\".c": 1, "a.\"b.c\"": 2, "Z": 0, "_": 3},
    "artifact": {"key": "backups/db-20261126T020000Z-7f3a/database.dump.enc", "sizeBytes": 123,
                 "encryption": {"algorithm": "AES-256-GCM-STREAM-v2", "keyId": key_id(MASTER)}},
    "emergency": False,
    "setId": None,
    "list": [1, -2, "x", [], {}],
}
canonical, tag = record_tag(MASTER, record_key, record)
stream_key = "backups/db-20261126T020000Z-7f3a/database.dump.enc"
plaintext = b"Bantay test vector: 40 bytes of text!!!!"
stream = stream_v2(MASTER, stream_key, plaintext, 16, bytes(range(100, 132)), bytes(range(200, 207)))

print(json.dumps({
    "masterKeyBase64": __import__("base64").b64encode(MASTER).decode(),
    "keyId": key_id(MASTER),
    "record": {"objectKey": record_key, "value": record, "canonical": canonical,
               "auth": {"v": 1, "alg": "HMAC-SHA256", "keyId": key_id(MASTER), "tag": tag}},
    "streamV2": {"objectKey": stream_key, "chunkSize": 16, "plaintextHex": plaintext.hex(),
                 "streamHex": stream.hex()},
}, indent=2, ensure_ascii=False))
