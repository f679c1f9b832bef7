// SPDX-License-Identifier: AGPL-3.0-or-later
//
// scan.js -- reads a QR code with the phone's camera: getUserMedia (the
// back camera when there is one), a frame every SCAN_EVERY_MS drawn to a
// canvas at most FRAME_WIDTH wide, and jsQR in a worker (scan_worker.js)
// so the page stays responsive.  scan() resolves with the first text that
// accept() takes; texts it refuses go to onWrong() and scanning goes on.
// The camera is released whatever happens (found, cancelled, failed).

import { scriptUrl } from "./tt.js";

const SCAN_EVERY_MS = 150;
const FRAME_WIDTH = 640;

export class ScanError extends Error {
  constructor (code) {
    super(code);
    this.code = code;          // denied | no_camera | unavailable | aborted
  }
}

function cameraError (e) {
  if (e && (e.name === "NotAllowedError" || e.name === "SecurityError"))
    return new ScanError("denied");
  if (e && (e.name === "NotFoundError" || e.name === "OverconstrainedError"))
    return new ScanError("no_camera");
  return new ScanError("unavailable");
}

// One decoder worker; rejects when it cannot load (no vendor/jsQR.js).
function startWorker () {
  const worker = new Worker(scriptUrl("scan_worker.js"));
  let pending = null;
  let broken = null;
  worker.onmessage = (e) => {
    const p = pending;
    pending = null;
    if (p)
      p.resolve(e.data);
  };
  worker.onerror = (e) => {
    e.preventDefault();
    broken = new ScanError("unavailable");
    const p = pending;
    pending = null;
    if (p)
      p.reject(broken);
  };
  return {
    decode (frame) {
      if (broken)
        return Promise.reject(broken);
      return new Promise((resolve, reject) => {
        pending = { resolve, reject };
        worker.postMessage(frame, [frame.data]);
      });
    },
    stop: () => worker.terminate(),
  };
}

const sleep = (ms, signal) => new Promise((resolve) => {
  const t = setTimeout(resolve, ms);
  signal.addEventListener("abort", () => { clearTimeout(t); resolve(); }, { once: true });
});

// Scans until accept(text) is true; @return that text.
export async function scan (video, { signal, accept, onWrong, onLooking }) {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia)
    throw new ScanError("no_camera");
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({
      audio: false,
      video: { facingMode: { ideal: "environment" }, width: { ideal: 1280 }, height: { ideal: 720 } },
    });
  } catch (e) {
    throw cameraError(e);
  }
  const worker = startWorker();
  const canvas = document.createElement("canvas");
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  try {
    if (signal.aborted)
      throw new ScanError("aborted");
    video.srcObject = stream;
    await video.play().catch(() => {});
    if (onLooking)
      onLooking();
    let last = null;
    while (!signal.aborted) {
      if (video.readyState >= 2 && video.videoWidth > 0) {
        const w = Math.min(FRAME_WIDTH, video.videoWidth);
        const h = Math.round(video.videoHeight * w / video.videoWidth);
        canvas.width = w;
        canvas.height = h;
        ctx.drawImage(video, 0, 0, w, h);
        const img = ctx.getImageData(0, 0, w, h);
        const text = await worker.decode({ width: w, height: h, data: img.data.buffer });
        if (text !== null && accept(text))
          return text;
        if (text !== null && text !== last && onWrong)
          onWrong(text);
        last = text;
      }
      await sleep(SCAN_EVERY_MS, signal);
    }
    throw new ScanError("aborted");
  } finally {
    worker.stop();
    for (const track of stream.getTracks())
      track.stop();
    video.srcObject = null;
  }
}
