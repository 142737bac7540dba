#!/usr/bin/python3
"""The ROI curation round trip in a real headless Chromium (docs/curation.md), via WebDriver.

curation_round_trip.py APICAL_BINARY [WORK_DIR]

Simulates a small session, runs it to extract and writes the QC report; opens qc/rois.html
from file:// in headless Chromium (chromedriver, W3C WebDriver over HTTP, standard library
only); clicks an accepted soma and rejects it, clicks a rejected candidate and accepts it,
saves; checks the downloaded decisions.json equals the page's textarea; applies it with
`apical curate`; checks rois.h5 with h5py; and checks `apical run --update` re-extracts the
curated ROIs. Exit 77 (ctest SKIP_RETURN_CODE) when no browser, driver or h5py is installed.
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

SKIP = 77
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
DRIVER = shutil.which("chromedriver")


def skip(why):
    print("SKIPPED: " + why + " (scripts/install-deps.sh installs chromium and chromium-driver)")
    sys.exit(SKIP)


def check(condition, what):
    if not condition:
        raise AssertionError(what)
    print("ok: " + what)


def apical(binary, *args):
    run = subprocess.run([binary, *args], capture_output=True, text=True)
    if run.returncode != 0:
        raise AssertionError("apical " + " ".join(args) + " failed:\n" + run.stdout + run.stderr)
    return run.stdout + run.stderr


class WebDriver:
    """The few W3C WebDriver endpoints the test needs."""

    def __init__(self, driver, browser, downloads):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.process = subprocess.Popen([driver, "--port=%d" % self.port], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        self.base = "http://127.0.0.1:%d" % self.port
        for _ in range(100):
            try:
                if self.call("GET", "/status")["ready"]:
                    break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.1)
        options = {"binary": browser,
                   "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                            "--window-size=1400,1000"],
                   "prefs": {"download.default_directory": downloads, "download.prompt_for_download": False}}
        caps = {"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": options}}}
        self.session = self.call("POST", "/session", caps)["sessionId"]

    def call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return json.load(response)["value"]
        except urllib.error.HTTPError as e:
            raise AssertionError("WebDriver %s %s: %s" % (method, path, e.read().decode()[:500]))

    def s(self, method, path, body=None):
        return self.call(method, "/session/" + self.session + path, body)

    def element(self, css):
        found = self.s("POST", "/element", {"using": "css selector", "value": css})
        return next(iter(found.values()))

    def click(self, css):
        self.s("POST", "/element/" + self.element(css) + "/click", {})

    def text(self, css):
        return self.s("GET", "/element/" + self.element(css) + "/text")

    def prop(self, css, name):
        return self.s("GET", "/element/" + self.element(css) + "/property/" + name)

    def close(self):
        try:
            self.s("DELETE", "")
        finally:
            self.process.terminate()
            self.process.wait(10)


def roi_masks(rois_h5, plane):
    """Pixel sets of every ROI of a plane, and accepted/rejection/curated per ROI."""
    import h5py
    with h5py.File(rois_h5, "r") as f:
        g = f["plane%d" % plane]
        offsets, pixels = g["roi_offsets"][:], g["roi_pixels"][:]
        masks = [frozenset(pixels[offsets[i]:offsets[i + 1]].tolist()) for i in range(len(offsets) - 1)]
        curated = g["curated"][:].tolist() if "curated" in g else [0] * len(masks)
        return masks, g["accepted"][:].tolist(), g["rejection"][:].tolist(), curated


def thinnest_dendrite(rois_h5):
    """The dendrite-plane ROI with the fewest pixels (the hardest to hit)."""
    import h5py
    with h5py.File(rois_h5, "r") as f:
        offsets = f["plane1/roi_offsets"][:]
        sizes = offsets[1:] - offsets[:-1]
        return int(sizes.argmin())


def curate_in_browser(web, page, accepted_roi, rejected_roi, dendrite_roi):
    web.s("POST", "/url", {"url": "file://" + page})
    # An accepted soma: its trace and features show; reject it.
    web.click("#roi-0-%d" % accepted_roi)
    check(web.text("#selected") == "plane 0, ROI %d" % accepted_roi, "clicking ROI %d selects it" % accepted_roi)
    check("area" in web.text("#features"), "its features are shown")
    check(len(web.prop("#trace polyline", "outerHTML")) > 100, "its dF/F trace is drawn")
    web.click("#reject")
    check("you-rejected" in web.prop("#roi-0-%d" % accepted_roi, "outerHTML"), "rejected ROI is drawn as rejected by you")
    # A rejected candidate: no trace (extract only measures accepted ROIs); accept it.
    web.click("#roi-0-%d" % rejected_roi)
    check(web.text("#selected") == "plane 0, ROI %d" % rejected_roi, "clicking ROI %d selects it" % rejected_roi)
    check("rejected" in web.text("#status"), "the detector's rejection reason is shown")
    web.click("#accept")
    # A dendrite of the dendrite plane is as clickable (its outline has an inside).
    web.click("#roi-1-%d" % dendrite_roi)
    check(web.text("#selected") == "plane 1, ROI %d" % dendrite_roi, "clicking dendrite %d selects it" % dendrite_roi)
    check("dendrite" in web.text("#features"), "it is shown as a dendrite")
    web.click("#save")
    return json.loads(web.prop("#decisions", "value"))


def wait_for(path, seconds=15):
    for _ in range(int(seconds * 10)):
        if os.path.exists(path) and os.path.getsize(path) > 0:
            return True
        time.sleep(0.1)
    return False


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    binary = os.path.abspath(sys.argv[1])
    if not CHROMIUM or not DRIVER:
        skip("no chromium or chromedriver installed: the ROI page is not tested in a browser")
    try:
        import h5py  # noqa: F401
    except ImportError:
        skip("python3-h5py missing")
    work = tempfile.mkdtemp(prefix="apical_browser_", dir=sys.argv[2] if len(sys.argv) > 2 else None)
    try:
        session = os.path.join(work, "s")
        apical(binary, "simulate", session, "-q", "--height", "96", "--width", "96", "--frames", "300",
               "--neurons", "8", "--seed", "3")
        apical(binary, "run", session, "-q", "--to", "extract")
        apical(binary, "qc", session, "-q")
        rois_h5 = os.path.join(session, "apical", "rois.h5")
        masks, accepted, _, _ = roi_masks(rois_h5, 0)
        check(0 in accepted and 1 in accepted, "plane 0 has accepted and rejected candidates")
        accepted_roi, rejected_roi = accepted.index(1), accepted.index(0)
        downloads = os.path.join(work, "downloads")
        os.makedirs(downloads)
        web = WebDriver(DRIVER, CHROMIUM, downloads)
        try:
            shown = curate_in_browser(web, os.path.join(session, "apical", "qc", "rois.html"), accepted_roi, rejected_roi,
                                      thinnest_dendrite(rois_h5))
        finally:
            web.close()
        check(shown["decisions"] == [{"plane": 0, "roi": min(accepted_roi, rejected_roi), "accepted": accepted_roi > rejected_roi},
                                     {"plane": 0, "roi": max(accepted_roi, rejected_roi), "accepted": accepted_roi < rejected_roi}],
              "the textarea holds both decisions")
        saved = os.path.join(downloads, "decisions.json")
        check(wait_for(saved), "Save decisions downloaded decisions.json")
        with open(saved) as f:
            check(json.load(f) == shown, "the download equals the textarea")

        out = apical(binary, "curate", session, saved)
        check("1 accepted and 1 rejected by hand" in out, "apical curate applied both decisions")
        after, accepted_after, rejection_after, curated_after = roi_masks(rois_h5, 0)
        was_accepted, was_rejected = after.index(masks[accepted_roi]), after.index(masks[rejected_roi])
        check(accepted_after[was_accepted] == 0 and rejection_after[was_accepted] == 100 and curated_after[was_accepted] == 1,
              "the soma rejected in the browser is rejected in rois.h5, reason 100 (curated)")
        check(accepted_after[was_rejected] == 1 and rejection_after[was_rejected] == 0 and curated_after[was_rejected] == 1,
              "the candidate accepted in the browser is accepted in rois.h5, marked curated")
        check(sum(accepted_after) == sum(accepted), "as many accepted ROIs as before (one in, one out)")

        update = apical(binary, "run", session, "--update", "--to", "extract")
        check("curated by hand" in update and "extracted" in update, "apical run --update keeps rois.h5, re-runs extract")
        import h5py
        with h5py.File(os.path.join(session, "apical", "traces.h5"), "r") as f:
            check(f["plane0/F"].shape[0] == sum(accepted_after), "traces.h5 holds the curated accepted ROIs")
        print("curation round trip in headless Chromium: passed")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
