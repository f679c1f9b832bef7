// SPDX-License-Identifier: AGPL-3.0-or-later
//
// store.js -- what the Guichet app keeps on the phone, in IndexedDB (never
// localStorage, which holds strings a script can read and ships nothing
// but text).
//
//   accounts  one record per activated account (several enrolments on one
//             phone), keyed by device_id: the bank's origin and base URL,
//             the device's status, the OTP parameters, the public key, and
//             three CryptoKey objects -- the ECDSA signing key and the two
//             HMAC keys of the seed (TOTP and the response code).  All
//             three are non-extractable: the browser keeps them and signs
//             with them, but no script, this one included, can read them.
//             Also lastTs, the last Guichet-Timestamp used, and customerId
//             once the enrolment is completed (neither is a secret).
//   meta      install_id: a random UUID made once per installation, sent
//             with every activation (the risk rules count how many
//             enrolments one installation binds).
//
// The ECDH key and the activation secret are never stored: they live
// from the scan until the seed is derived.

const DB_NAME = "guichet-app";
const DB_VERSION = 1;

let opened = null;

function openDb () {
  if (!opened) {
    opened = new Promise((resolve, reject) => {
      let r;
      try {
        r = indexedDB.open(DB_NAME, DB_VERSION);
      } catch (e) {
        reject(e);
        return;
      }
      r.onupgradeneeded = () => {
        const db = r.result;
        if (!db.objectStoreNames.contains("accounts"))
          db.createObjectStore("accounts", { keyPath: "deviceId" });
        if (!db.objectStoreNames.contains("meta"))
          db.createObjectStore("meta");
      };
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error);
      r.onblocked = () => reject(new Error("storage blocked"));
    });
    opened.catch(() => { opened = null; });
  }
  return opened;
}

// Runs fn(store) in one transaction on store name; resolves with what fn
// set as result once the transaction has committed.
async function run (name, mode, fn) {
  const db = await openDb();
  return new Promise((resolve, reject) => {
    const tx = db.transaction(name, mode);
    const out = { result: undefined };
    tx.oncomplete = () => resolve(out.result);
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error || new Error("aborted"));
    fn(tx.objectStore(name), out);
  });
}

export function listAccounts () {
  return run("accounts", "readonly", (s, out) => {
    const r = s.getAll();
    r.onsuccess = () => { out.result = r.result.sort((a, b) => a.addedAt - b.addedAt); };
  });
}

export function putAccount (account) {
  return run("accounts", "readwrite", (s) => { s.put(account); });
}

export function deleteAccount (deviceId) {
  return run("accounts", "readwrite", (s) => { s.delete(deviceId); });
}

// Changes fields of one account: status (active, pending_review, denied,
// revoked) or customerId (known once the enrolment is completed).
export function updateAccount (deviceId, patch) {
  return run("accounts", "readwrite", (s) => {
    const r = s.get(deviceId);
    r.onsuccess = () => {
      if (r.result)
        s.put(Object.assign(r.result, patch));
    };
  });
}

// The Guichet-Timestamp of the device's next signed request: now, or one
// second after the last one if that is later.  The server accepts a signed
// message once, so two requests must never share a second; read and
// write happen in one transaction, which IndexedDB runs one at a time,
// so two tabs of the app cannot take the same second either.
export function nextTimestamp (deviceId, now) {
  return run("accounts", "readwrite", (s, out) => {
    const r = s.get(deviceId);
    r.onsuccess = () => {
      const a = r.result;
      if (!a)
        return;
      a.lastTs = Math.max(now, (a.lastTs || 0) + 1);
      out.result = a.lastTs;
      s.put(a);
    };
  });
}

// This installation's id, made on first use.
export function installId () {
  return run("meta", "readwrite", (s, out) => {
    const r = s.get("install_id");
    r.onsuccess = () => {
      if (typeof r.result === "string") {
        out.result = r.result;
        return;
      }
      out.result = crypto.randomUUID();
      s.put(out.result, "install_id");
    };
  });
}
