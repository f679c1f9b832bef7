// SPDX-License-Identifier: AGPL-3.0-or-later
//
// crypto.test.mjs -- web/app/crypto.js, the Guichet app's WebCrypto code,
// under node's test runner with node's own WebCrypto
// (globalThis.crypto.subtle), against every line of API.md's "Test
// vectors (normative)" and docs/transactions.md's response code.
//
// The vectors need fixed private keys: they are imported here as JWK
// (d and the public point of the vector); the app itself only ever
// generates its keys, non-extractable.  ECDSA signatures are randomised:
// they are verified (with node:crypto, an implementation of its own, on
// the DER form the server reads) and checked low-s, never compared.

import assert from "node:assert/strict";
import { createPublicKey, verify as nodeVerify } from "node:crypto";
import { describe, test } from "node:test";

import * as gc from "../../web/app/crypto.js";

const subtle = globalThis.crypto.subtle;

const V = {
  deviceD: "25f00d7601429388eba003af27c68647d2ce8033a3c71beffdce62c7a7c3205d",
  ecdhD: "297d2848ca9a76b593abb507429bb0837d8dde868560061319c9e63470bd7ee9",
  serverD: "9ce767facd35b77c52b103353b44399faa0fbf94e37f85c10bda97c2db90ae50",
  secret: "000102030405060708090a0b0c0d0e0f",
  secretB64: "AAECAwQFBgcICQoLDA0ODw",
  challenge: "ch_test_0001",
  deviceId: "dev_test_0001",
  devicePub: "04adf6e00b6a658c624433636a9e0e5f188d36cf3c794fdfb4056938c758c1c3bdfb6e087e3c72e3193f6dae90d35924848e4b99fc3caa03c52b06f8ef4af4a864",
  ecdhPub: "04e394fb5485a00945dfe2d1a7493c984a63ba8ec1682387bfb42b81a6a919269df60a8f68150d4a2fe6565f8368e2bd3b73ac9fe015211a00f2c879d7b0f675eb",
  serverPub: "04fa962fc5854cd0c55f3cd49b98845db37ceb725350e8970629ceb513375db06671c0b3b2ddb6599272228007a2ff83c12d5f096840ee293a6ca5090cc922d173",
  mHash: "97d503ee21b0776afb658c137d294568a295b23f5204316efd407e8572417be7",
  proof: "ea395813255f659bee2ce1e7374654c10286130ad9831c910f54a9d974030a95",
  sharedX: "7fce7bb9a9a050072bcce794bed3929030025ef57b5d1e39a6e974b169dbe43c",
  seed: "960db2141599b9e176cec0c480ed5e994d244ca16c1ff5753d637a5c06989408",
  totp: [[59, "185491"], [1111111109, "946648"], [2000000000, "855248"]],
  t: "guichet-tx-v1\ntx_test_0001\n125.00\nEUR\nACME SARL\nFR7630006000011234567890189\nn0nce",
  tx: { id: "tx_test_0001", amount: "125.00", currency: "EUR", payee_name: "ACME SARL",
        payee_iban: "FR7630006000011234567890189", nonce: "n0nce" },
  response: "09148292",
};

// A P-256 private key of the vectors: d and its public point, as JWK.
function importPrivate (d, pub, name, usages, extractable = false) {
  const p = gc.fromHex(pub);
  return subtle.importKey("jwk", {
    kty: "EC", crv: "P-256", d: gc.b64u(gc.fromHex(d)),
    x: gc.b64u(p.subarray(1, 33)), y: gc.b64u(p.subarray(33)),
  }, { name, namedCurve: "P-256" }, extractable, usages);
}

const deviceKey = () => importPrivate(V.deviceD, V.devicePub, "ECDSA", ["sign"]);
const ecdhKey = () => importPrivate(V.ecdhD, V.ecdhPub, "ECDH", ["deriveKey", "deriveBits"]);
const serverKey = () => importPrivate(V.serverD, V.serverPub, "ECDH", ["deriveKey", "deriveBits"]);

// DER ECDSA verified by node:crypto (OpenSSL), not by WebCrypto.
function verifiesDer (pubHex, message, der) {
  const p = gc.fromHex(pubHex);
  const key = createPublicKey({ format: "jwk", key: {
    kty: "EC", crv: "P-256", x: gc.b64u(p.subarray(1, 33)), y: gc.b64u(p.subarray(33)) } });
  return nodeVerify("sha256", message, { key, dsaEncoding: "der" }, der);
}

// s of a DER signature, as a BigInt.
function derS (der) {
  assert.equal(der[0], 0x30);
  assert.equal(der[1], der.length - 2, "one SEQUENCE, short form, nothing after");
  assert.equal(der[2], 0x02);
  const rLen = der[3];
  assert.equal(der[4 + rLen], 0x02);
  const sLen = der[5 + rLen];
  const s = der.subarray(6 + rLen, 6 + rLen + sLen);
  assert.equal(6 + rLen + sLen, der.length);
  assert.ok(s[0] !== 0 || (s[1] & 0x80), "minimal INTEGER");
  return BigInt("0x" + gc.hex(s));
}

describe("API.md test vectors", () => {
  test("the activation secret of the QR (s=) is the vector's 16 bytes", () => {
    assert.equal(gc.hex(gc.unb64u(V.secretB64)), V.secret);
    assert.equal(gc.b64u(gc.fromHex(V.secret)), V.secretB64);
  });

  test("public points of the fixed keys", async () => {
    const dk = await importPrivate(V.deviceD, V.devicePub, "ECDSA", ["sign"], true);
    const jwk = await subtle.exportKey("jwk", dk);
    assert.equal(gc.hex(gc.unb64u(jwk.d)), V.deviceD);
    const pub = await gc.importPoint(gc.fromHex(V.devicePub), "ECDSA");
    assert.equal(gc.hex(await gc.publicPoint(pub)), V.devicePub);
  });

  test("activation message M: |M| = 163 and SHA-256(M)", async () => {
    const m = gc.activationMessage(V.challenge, gc.fromHex(V.devicePub), gc.fromHex(V.ecdhPub));
    assert.equal(m.length, 163);
    assert.equal(await gc.sha256Hex(m), V.mHash);
  });

  test("proof = HMAC-SHA256(activation secret, M)", async () => {
    const m = gc.activationMessage(V.challenge, gc.fromHex(V.devicePub), gc.fromHex(V.ecdhPub));
    assert.equal(gc.hex(await gc.activationProof(gc.fromHex(V.secret), m)), V.proof);
  });

  test("activation signature over M: DER, low-s, verified by OpenSSL", async () => {
    const key = await deviceKey();
    const m = gc.activationMessage(V.challenge, gc.fromHex(V.devicePub), gc.fromHex(V.ecdhPub));
    for (let i = 0; i < 8; i++) {
      const der = await gc.signDer(key, m);
      assert.ok(verifiesDer(V.devicePub, m, der), "the DER signature verifies");
      assert.ok(derS(der) <= gc.P256_N / 2n, "s in the lower half");
    }
  });

  test("the activation body with the vector's keys", async () => {
    const keys = {
      sign: { privateKey: await deviceKey(),
              publicKey: await gc.importPoint(gc.fromHex(V.devicePub), "ECDSA") },
      ecdh: { privateKey: await ecdhKey(), publicKey: await gc.importPoint(gc.fromHex(V.ecdhPub)) },
    };
    const device = { platform: "web", app_version: "1.0.0" };
    const body = await gc.activationBody(V.challenge, gc.fromHex(V.secret), keys, device);
    assert.deepEqual(Object.keys(body).sort(),
                     ["challenge_id", "device", "device_public_key", "ecdh_public_key",
                      "proof", "signature"]);
    assert.equal(body.challenge_id, V.challenge);
    assert.equal(gc.hex(gc.unb64u(body.device_public_key)), V.devicePub);
    assert.equal(gc.hex(gc.unb64u(body.ecdh_public_key)), V.ecdhPub);
    assert.equal(gc.hex(gc.unb64u(body.proof)), V.proof);
    const m = gc.activationMessage(V.challenge, gc.fromHex(V.devicePub), gc.fromHex(V.ecdhPub));
    assert.ok(verifiesDer(V.devicePub, m, gc.unb64u(body.signature)));
    assert.equal(body.device, device);
  });

  test("ECDH shared x-coordinate, from both sides", async () => {
    const phone = new Uint8Array(await subtle.deriveBits(
      { name: "ECDH", public: await gc.importPoint(gc.fromHex(V.serverPub)) }, await ecdhKey(), 256));
    const server = new Uint8Array(await subtle.deriveBits(
      { name: "ECDH", public: await gc.importPoint(gc.fromHex(V.ecdhPub)) }, await serverKey(), 256));
    assert.equal(gc.hex(phone), V.sharedX);
    assert.equal(gc.hex(server), V.sharedX);
  });

  test("seed = HKDF-SHA256(ECDH x, salt = secret, info = label 0x00 device_id)", async () => {
    const { txKey, totpKey } = await gc.deriveSeedKeys(
      await ecdhKey(), gc.fromHex(V.serverPub), gc.fromHex(V.secret), V.deviceId,
      { extractable: true });
    assert.equal(gc.hex(new Uint8Array(await subtle.exportKey("raw", txKey))), V.seed);
    assert.equal(totpKey, txKey, "TOTP SHA256 and the response code share one key");
  });

  test("the app's seed key is non-extractable and can only sign", async () => {
    const { txKey } = await gc.deriveSeedKeys(await ecdhKey(), gc.fromHex(V.serverPub),
                                              gc.fromHex(V.secret), V.deviceId);
    assert.equal(txKey.extractable, false);
    assert.deepEqual(txKey.usages, ["sign"]);
    await assert.rejects(subtle.exportKey("raw", txKey));
    const keys = await gc.newDeviceKeys();
    assert.equal(keys.sign.privateKey.extractable, false);
    assert.equal(keys.ecdh.privateKey.extractable, false);
    await assert.rejects(subtle.exportKey("jwk", keys.sign.privateKey));
    await assert.rejects(subtle.exportKey("pkcs8", keys.ecdh.privateKey));
  });

  test("TOTP SHA256/6/30 at t=59, 1111111109 and 2000000000", async () => {
    const { totpKey } = await gc.deriveSeedKeys(await ecdhKey(), gc.fromHex(V.serverPub),
                                                gc.fromHex(V.secret), V.deviceId);
    for (const [t, code] of V.totp) {
      const r = await gc.totp(totpKey, t, { digits: 6, period: 30 });
      assert.equal(r.code, code, `t=${t}`);
      assert.equal(r.validFor, 30 - (t % 30));
    }
  });

  test("transaction T and the offline response code 09148292", async () => {
    assert.equal(new TextDecoder().decode(gc.txMessage(V.tx)), V.t);
    const { txKey } = await gc.deriveSeedKeys(await ecdhKey(), gc.fromHex(V.serverPub),
                                              gc.fromHex(V.secret), V.deviceId);
    assert.equal(await gc.txResponseCode(txKey, V.tx), V.response);
  });

  test("the signature over T is DER and low-s, and one changed character fails it", async () => {
    const key = await deviceKey();
    const der = gc.unb64u(await gc.txSignature(key, V.tx));
    assert.ok(verifiesDer(V.devicePub, gc.utf8(V.t), der));
    assert.ok(derS(der) <= gc.P256_N / 2n);
    assert.ok(!verifiesDer(V.devicePub, gc.utf8(V.t.replace("125.00", "725.00")), der));
  });
});

describe("signed device requests", () => {
  test("the signed string and its headers", async () => {
    const key = await deviceKey();
    const body = gc.utf8('{"signature":"x"}');
    const h = await gc.signRequest(key, V.deviceId, "POST", "/v1/transactions/tx_1/approve",
                                   1700000000, body);
    assert.equal(h["Guichet-Device"], V.deviceId);
    assert.equal(h["Guichet-Timestamp"], "1700000000");
    const m = `POST\n/v1/transactions/tx_1/approve\n1700000000\n${await gc.sha256Hex(body)}`;
    assert.deepEqual(await gc.requestMessage("POST", "/v1/transactions/tx_1/approve",
                                             "1700000000", body), gc.utf8(m));
    const der = gc.unb64u(h["Guichet-Signature"]);
    assert.ok(verifiesDer(V.devicePub, gc.utf8(m), der));
    assert.ok(derS(der) <= gc.P256_N / 2n);
  });

  test("an empty body hashes as SHA-256 of nothing", async () => {
    const m = await gc.requestMessage("GET", "/v1/devices/d/transactions", "5", new Uint8Array(0));
    assert.equal(new TextDecoder().decode(m),
                 "GET\n/v1/devices/d/transactions\n5\n"
                 + "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  });
});

describe("encodings", () => {
  test("a high s becomes n - s; r and a low s stay", () => {
    const r = new Uint8Array(32).fill(0x80);          // top bit: a 0x00 in front
    const high = gc.fromHex((gc.P256_N - 5n).toString(16).padStart(64, "0"));
    const der = gc.p1363ToDerLowS(gc.concat(r, high));
    assert.equal(derS(der), 5n);
    assert.equal(der[3], 33, "r with its sign byte");
    const low = gc.fromHex("00".repeat(31) + "07");
    assert.equal(derS(gc.p1363ToDerLowS(gc.concat(r, low))), 7n);
    assert.throws(() => gc.p1363ToDerLowS(new Uint8Array(63)));
  });

  test("base64url: canonical only", () => {
    for (const n of [0, 1, 2, 3, 16, 31, 32, 65])
      assert.deepEqual(gc.unb64u(gc.b64u(new Uint8Array(n).fill(0xfb))), new Uint8Array(n).fill(0xfb));
    assert.equal(gc.unb64u("AAECAwQFBgcICQoLDA0ODw=="), null, "padding");
    assert.equal(gc.unb64u("AAECAwQFBgcICQoLDA0ODx"), null, "non-zero trailing bits");
    assert.equal(gc.unb64u("AAEC+wQF"), null, "the other alphabet");
    assert.equal(gc.unb64u("A"), null, "4k+1 characters");
  });

  test("the server's otp parameters are checked", () => {
    assert.deepEqual(gc.otpParams({ type: "totp", algorithm: "SHA256", digits: 6, period: 30 }),
                     { algorithm: "SHA256", digits: 6, period: 30 });
    for (const bad of [null, { type: "hotp", algorithm: "SHA256", digits: 6, period: 30 },
                       { type: "totp", algorithm: "MD5", digits: 6, period: 30 },
                       { type: "totp", algorithm: "SHA1", digits: 9, period: 30 },
                       { type: "totp", algorithm: "SHA1", digits: 6, period: 0 }])
      assert.equal(gc.otpParams(bad), null, JSON.stringify(bad));
  });

  test("TOTP with SHA1 uses a key of its own, from the same seed", async () => {
    const keys = await gc.deriveSeedKeys(await ecdhKey(), gc.fromHex(V.serverPub),
                                         gc.fromHex(V.secret), V.deviceId,
                                         { algorithm: "SHA1", extractable: true });
    assert.notEqual(keys.totpKey, keys.txKey);
    assert.equal(keys.totpKey.algorithm.hash.name, "SHA-1");
    assert.equal(gc.hex(new Uint8Array(await subtle.exportKey("raw", keys.totpKey))), V.seed);
  });
});
