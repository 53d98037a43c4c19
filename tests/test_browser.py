"""The journal app in a real browser: ``emoj app`` serves it with Voila, headless Chromium uses it.

The journal starts with 32 entries with notes and tags: the page must show no "javascript error" and the browser
console no error. Without shared data: the astronaut portrait (scikit-image) is uploaded, saved with a note that
then shows in the history, and an entry is edited and deleted from the app (its pixels gone from disk). With the
shared photos: Chromium's fake camera plays a clip made from a real face photo and the row the kernel wrote is
checked; a browser that refuses the camera gets an explanation and the upload still works. Requests to anywhere but
127.0.0.1 are blocked and recorded.

Needs Debian's Chromium (``apt-get install -y chromium``), Playwright for Python (``pip install
playwright``; never ``playwright install``) and Voila. Outside CI the tests are skipped when one is
missing; in CI (``CI=true``) that is a failure.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from emoj_lib import config
from emoj_lib.faces import find_faces
from emoj_lib.journal import Entry, Journal
from emoj_lib.labels import EMOTIONS

sys.path.insert(0, str(Path(__file__).parent / "browser"))
from media import camera_frame, from_i420, to_i420, write_y4m

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--use-fake-device-for-media-stream"]
VOILA = Path(sys.executable).parent / "voila"
EMOJ = Path(sys.executable).parent / "emoj"
LOCAL = re.compile(r"^(https?|wss?)://127\.0\.0\.1[:/]")
EXPECTED_EXTERNAL = re.compile(r"^https://cdn\.jsdelivr\.net/npm/@fortawesome/")  # Voila's lab template (icons)


def require_browser() -> None:
    """Skip (outside CI) or fail (in CI) when Chromium, Playwright or Voila is missing."""
    missing = []
    if not CHROMIUM.is_file():
        missing.append(f"{CHROMIUM} (apt-get install -y chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("playwright for Python (pip install playwright)")
    if not VOILA.is_file():
        missing.append(f"voila ({VOILA}; pip install voila)")
    if missing:
        reason = "browser test needs " + " and ".join(missing)
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen, timeout: float, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"voila exited with {proc.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        time.sleep(0.2)
    raise AssertionError(f"voila did not listen on port {port} within {timeout} s:\n"
                         f"{log.read_text(errors='replace')[-3000:]}")


def stop_server(proc: subprocess.Popen) -> None:
    """Stop Voila and the kernels it started (they run in sessions of their own), by process id."""
    import psutil

    try:
        children = psutil.Process(proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        children = []
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # its own process group (start_new_session)
            proc.wait(timeout=10)
    _, alive = psutil.wait_procs(children, timeout=10)
    for child in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            child.kill()
    psutil.wait_procs(alive, timeout=10)


@pytest.fixture(scope="session")
def browser_ready() -> None:
    """Skip or fail before anything is set up (listed before ``tiny_model``, so no model is trained for nothing)."""
    require_browser()


def fill_journal(folder: Path, n: int) -> list[Entry]:
    """Write ``n`` entries a day apart, all with notes (some with HTML and quotes) and tags; return them."""
    from datetime import datetime, timedelta, timezone

    rng = np.random.default_rng(7)
    journal = Journal(folder, fsync=False)
    start = datetime(2026, 1, 5, 8, 30, tzinfo=timezone(timedelta(hours=1)))
    out = []
    for i in range(n):
        note = f'day {i}: <b>"busy"</b> & tired, a long note that goes on ' + "and on " * 12 if i % 3 == 0 \
            else f"day {i}: fine"
        entry = Entry(face=rng.integers(0, 256, (48, 48), dtype=np.uint8), box=(1, 2, 30, 30),
                      probabilities=rng.dirichlet(np.ones(7)), source="file", model="m", model_version="1",
                      timestamp=start + timedelta(days=i, hours=i % 10), user_label=EMOTIONS[i % 7] if i % 2 else None,
                      note=note, tags=("work", f"t{i % 3}"))
        out.append(journal.append(entry))
    return out


@pytest.fixture(scope="module")
def voila(browser_ready, tiny_model, tmp_path_factory):
    """``emoj app`` (Voila, the emoj template) on 127.0.0.1 with a journal of 32 entries and the tiny model.

    Yields ``(url, journal folder, log file, entries written)``; every page load starts its own kernel.
    """
    root = tmp_path_factory.mktemp("voila")
    journal_dir = root / "journal"
    entries = fill_journal(journal_dir, 32)
    port = free_port()
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(root / "jupyter-config"), JUPYTER_RUNTIME_DIR=str(root / "runtime"),
               JUPYTER_PLATFORM_DIRS="1", TF_CPP_MIN_LOG_LEVEL="2")
    log = root / "voila.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [str(EMOJ), "app", "--no-browser", "--port", str(port), "--journal", str(journal_dir),
             "--model", str(tiny_model)],
            cwd=root, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True)
    try:
        wait_for_port(port, proc, 60, log)
        yield f"http://127.0.0.1:{port}/", journal_dir, log, entries
    finally:
        stop_server(proc)


@contextlib.contextmanager
def browser_page(pw, log: Path, tmp_path: Path, *, args: list[str]):
    """A page of a headless Chromium that may reach 127.0.0.1 only; on failure, print the console and logs.

    Yields ``(page, external, errors)``: ``external`` collects the URLs of the requests blocked, ``errors`` the
    browser console's errors (but the failed loads of those blocked requests).
    """
    browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, timeout=60_000, args=args)
    external: list[str] = []
    console: list[str] = []
    errors: list[str] = []
    try:
        page = browser.new_page(viewport={"width": 1200, "height": 1000})
        page.set_default_timeout(30_000)
        page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" and not (
            "net::ERR_FAILED" in m.text or m.text.startswith("Failed to load resource")) else None)
        page.on("pageerror", lambda exc: errors.append(f"uncaught: {exc}"))

        def block_outside(route):
            external.append(route.request.url)
            route.abort()

        page.route(lambda url: not LOCAL.match(url), block_outside)  # nothing leaves this machine
        try:
            yield page, external, errors
        except Exception:
            print("--- browser console ---", *console[-40:], sep="\n")
            print("--- voila log ---", log.read_text(errors="replace")[-4000:], sep="\n")
            with contextlib.suppress(Exception):
                page.screenshot(path=str(tmp_path / "failure.png"))
                print(f"screenshot: {tmp_path / 'failure.png'}")
            raise
    finally:
        browser.close()


def open_app(page, url: str) -> None:
    page.goto(url, timeout=60_000)
    page.locator(".emoj-camera [data-emoj=start]").wait_for(timeout=150_000)  # kernel, TensorFlow, model


def read_entries(journal_dir: Path):
    return Journal.open(journal_dir).read().entries


def assert_no_javascript_error(page, errors: list[str]) -> None:
    """No widget failed to render ("Click to show javascript error") and the console has no error."""
    assert "javascript error" not in page.content().lower()
    assert errors == [], f"browser console errors: {errors}"


@pytest.fixture
def face_clip(tmp_path, require_shared):
    """A 640x480 clip of a real face photo, and the frame it shows (RGB, as decoded from the clip)."""
    photo = require_shared(config.photos_dir() / "deepface__img1.jpg")
    frame = camera_frame(photo)
    clip = write_y4m(tmp_path / "face.y4m", frame)
    return clip, from_i420(to_i420(frame))


@pytest.mark.shared_data
def test_webcam_photo_in_voila_goes_to_the_journal(tmp_path, voila, face_clip):
    from playwright.sync_api import sync_playwright

    url, journal_dir, log, _ = voila
    clip, shown = face_clip
    [reference] = find_faces(shown, policy="largest")
    before = len(read_entries(journal_dir))
    t0 = time.monotonic()
    timings = {}
    with sync_playwright() as pw, browser_page(pw, log, tmp_path, args=[
            *CHROMIUM_ARGS, "--use-fake-ui-for-media-stream", f"--use-file-for-fake-video-capture={clip}"]) as (
            page, external, errors):
        open_app(page, url)
        timings["app shown"] = time.monotonic() - t0
        camera = page.locator(".emoj-camera")
        camera.locator("[data-emoj=start]").click()
        page.locator(".emoj-camera[data-emoj-status=streaming]").wait_for(timeout=30_000)
        camera.locator("[data-emoj=capture]").click()
        prediction = page.locator(".emoj-prediction")
        prediction.wait_for(timeout=60_000)
        timings["photo read"] = time.monotonic() - t0
        predicted = prediction.get_attribute("data-emotion")
        page.locator(".emoj-label button", has_text=re.compile("^sad$")).click()
        page.locator(".emoj-note textarea").fill("from the browser")
        page.locator(".emoj-save").click()
        page.locator(".emoj-message .emoj-success").wait_for(timeout=30_000)
        timings["saved"] = time.monotonic() - t0
        page.locator(".emoj-tile .emoj-note", has_text="from the browser").wait_for(timeout=30_000)  # its tile
        assert_no_javascript_error(page, errors)
    print("timings (s from page load):", {k: round(v, 1) for k, v in timings.items()})

    entries = read_entries(journal_dir)
    assert len(entries) == before + 1
    row = entries.iloc[-1]
    assert row["source"] == "webcam" and row["emotion"] == predicted
    assert row["user_label"] == "sad" and row["note"] == "from the browser"
    face = np.array(row["pixels"].split(), dtype=np.float64)
    corr = np.corrcoef(face, reference.crop.ravel().astype(np.float64))[0, 1]
    assert corr > 0.9, f"the saved face does not look like the face filmed (correlation {corr:.3f})"
    box = np.array([row[k] for k in "xywh"], dtype=float)
    assert np.abs(box - reference.box.as_tuple()).max() < 0.2 * reference.box.w, (box, reference.box)
    assert all(EXPECTED_EXTERNAL.match(url) for url in external), f"requests outside the machine: {external}"


@pytest.mark.shared_data
def test_refused_camera_is_explained_and_upload_still_works(tmp_path, voila, require_shared):
    from playwright.sync_api import sync_playwright

    url, journal_dir, log, _ = voila
    photo = require_shared(config.photos_dir() / "deepface__img5.jpg")
    [reference] = find_faces(photo, policy="largest")
    before = len(read_entries(journal_dir))
    # a camera, but no fake permission prompt: headless Chromium refuses the camera (NotAllowedError)
    with sync_playwright() as pw, browser_page(pw, log, tmp_path, args=CHROMIUM_ARGS) as (page, external, _):
        open_app(page, url)
        page.locator(".emoj-camera [data-emoj=start]").click()
        page.locator(".emoj-camera[data-emoj-status=error]").wait_for(timeout=30_000)
        warning = page.locator(".emoj-message .emoj-warning")
        warning.wait_for(timeout=30_000)
        assert "camera access was refused" in warning.inner_text()
        page.get_by_text("Upload a photo", exact=True).click()
        with page.expect_file_chooser(timeout=30_000) as chooser:
            page.locator(".widget-upload").click()
        chooser.value.set_files(str(photo))
        page.locator(".emoj-prediction").wait_for(timeout=60_000)
        page.locator(".emoj-save").click()
        page.locator(".emoj-message .emoj-success").wait_for(timeout=30_000)
    entries = read_entries(journal_dir)
    assert len(entries) == before + 1
    row = entries.iloc[-1]
    assert row["source"] == "upload" and row["user_label"] == row["emotion"]  # saved as predicted: confirmed
    face = np.array(row["pixels"].split(), dtype=np.uint8).reshape(48, 48)
    np.testing.assert_array_equal(face, reference.crop)  # the same bytes, decoded the same way
    assert all(EXPECTED_EXTERNAL.match(url) for url in external), f"requests outside the machine: {external}"


@pytest.fixture
def astronaut_jpeg(tmp_path) -> Path:
    """Eileen Collins' portrait (scikit-image, public domain) as a JPEG file: no shared data needed."""
    from PIL import Image
    from skimage import data as skdata

    path = tmp_path / "astronaut.jpg"
    Image.fromarray(skdata.astronaut()).save(path, quality=92)
    return path


def upload_photo(page, photo: Path) -> None:
    page.get_by_role("tab", name="Upload a photo").click()
    with page.expect_file_chooser(timeout=30_000) as chooser:
        page.locator(".widget-upload").click()
    chooser.value.set_files(str(photo))


def test_journal_browse_save_edit_and_delete_in_the_browser(tmp_path, voila, astronaut_jpeg):
    from playwright.sync_api import sync_playwright

    url, journal_dir, log, written = voila
    start_ids = set(read_entries(journal_dir).index)  # the module's other browser tests may have added entries
    with sync_playwright() as pw, browser_page(pw, log, tmp_path, args=CHROMIUM_ARGS) as (page, external, errors):
        open_app(page, url)
        tiles = page.locator(".emoj-tile")
        tiles.nth(11).wait_for(timeout=60_000)
        assert tiles.count() == 12 and "1-12 of" in page.locator(".emoj-history").inner_text()
        # the module's other browser tests may have saved entries first: find the newest written one by its note
        assert page.locator(".emoj-tile .emoj-note", has_text=written[-1].note[:20]).count() >= 1
        assert_no_javascript_error(page, errors)  # every tile renders, notes with HTML and quotes included

        page.locator(".emoj-older").click()  # page through the history
        page.get_by_text("13-24 of", exact=False).wait_for(timeout=30_000)
        assert page.locator(".emoj-tile .emoj-note", has_text=written[-13].note[:12]).count() >= 1
        assert page.locator(".emoj-tile .emoj-note", has_text=written[-1].note[:20]).count() == 0
        page.locator(".emoj-search input").fill("day 30")
        page.locator(".emoj-search input").press("Enter")  # the note filter
        page.get_by_text("1-1 of 1 matching", exact=False).wait_for(timeout=30_000)
        assert tiles.count() == 1 and "day 30" in tiles.first.inner_text()
        page.get_by_role("button", name="All entries").click()
        page.get_by_text("1-12 of", exact=False).wait_for(timeout=30_000)

        page.get_by_role("tab", name="Upload a photo").click()
        button = page.locator(".widget-upload")
        assert button.evaluate("b => getComputedStyle(b, '::after').content") == '"Upload a photo"'
        assert button.evaluate("b => getComputedStyle(b).fontSize") == "0px"  # not "Upload a photo (0)"
        upload_photo(page, astronaut_jpeg)  # a new entry, with a note, tags and the user's own label
        prediction = page.locator(".emoj-prediction")
        prediction.wait_for(timeout=60_000)
        predicted = prediction.get_attribute("data-emotion")
        chosen = next(e for e in ("surprise", "sad") if e != predicted)
        page.locator(".emoj-label button", has_text=re.compile(f"^{chosen}$")).click()
        page.locator(".emoj-app .emoj-note textarea").fill("astronaut from the browser test")
        page.locator(".emoj-app .emoj-tags input").fill("space, test")
        page.locator(".emoj-save").click()
        page.locator(".emoj-message .emoj-success").wait_for(timeout=30_000)
        mine = page.locator(".emoj-tile", has_text="astronaut from the browser test")
        mine.wait_for(timeout=30_000)  # the note is on the page
        entries = read_entries(journal_dir)
        new_id = entries.index[-1]
        row = entries.loc[new_id]
        assert (row["user_label"], row["emotion"], row["note"], row["tags"]) == (
            chosen, predicted, "astronaut from the browser test", ("space", "test"))

        mine.locator(".emoj-edit").click()  # edit it
        editor = page.locator(".emoj-editor")
        editor.locator(".emoj-edit-note textarea").wait_for(timeout=30_000)
        editor.locator(".emoj-edit-note textarea").fill("edited in the browser")
        editor.locator(".emoj-edit-save").click()
        page.locator(".emoj-history-message", has_text="Saved: the note").wait_for(timeout=30_000)
        page.locator(".emoj-tile", has_text="edited in the browser").wait_for(timeout=30_000)
        assert read_entries(journal_dir).loc[new_id, "note"] == "edited in the browser"

        editor.locator(".emoj-edit-delete").click()  # delete it, after a confirmation
        editor.locator(".emoj-delete-confirm").wait_for(timeout=30_000)
        assert new_id in read_entries(journal_dir).index  # nothing deleted before the confirmation
        editor.locator(".emoj-delete-confirm").click()
        page.locator(".emoj-history-message", has_text="Deleted entry").wait_for(timeout=30_000)
        assert page.locator(".emoj-tile", has_text="edited in the browser").count() == 0
        assert_no_javascript_error(page, errors)
    entries = read_entries(journal_dir)
    assert new_id not in entries.index and set(entries.index) == start_ids
    pixels = row["pixels"].encode()
    assert all(pixels not in p.read_bytes() for p in journal_dir.rglob("*") if p.is_file())  # gone from disk
    assert all(EXPECTED_EXTERNAL.match(u) for u in external), f"requests outside the machine: {external}"
