// SPDX-License-Identifier: AGPL-3.0-or-later
//
// scan_worker.js -- decodes QR codes off the page's thread with jsQR
// (npm "jsqr", copied to vendor/ by ./dev build; never committed).  Gets
// {width, height, data: RGBA ArrayBuffer}, answers the decoded text or
// null.  It sees camera frames only: no key, no storage, no network.

importScripts("vendor/jsQR.js");

self.onmessage = (e) => {
  const { width, height, data } = e.data;
  let text = null;
  try {
    const code = self.jsQR(new Uint8ClampedArray(data), width, height,
                           { inversionAttempts: "attemptBoth" });
    text = code && typeof code.data === "string" ? code.data : null;
  } catch (err) {
    text = null;
  }
  self.postMessage(text);
};
