#!/usr/bin/env node
// seek.js - play reencode's outputs in a real browser (Debian's headless
// Chromium, driven by playwright-core) and time seeks.
//
//   node seek.js --mkclip MKCLIP [options] FILE.webm...
//
// For each FILE: serve it over HTTP on 127.0.0.1 (with byte ranges, as
// Chromium fetches WebM when it seeks), open a page with a <video> of it,
// wait for its metadata, check the duration, then seek to a set of targets,
// each timed from setting currentTime to the `seeked` event and to the
// presentation of a frame at that time (requestVideoFrameCallback), and
// check that the frame shown is the one a player must show there: the last
// frame whose timestamp is at or before the target. Then play a few seconds
// and check that time advances and that video frames follow the audio clock.
//
// The frames and keyframes of FILE come from `MKCLIP --packets FILE`
// (tests/tools/mkclip.c). Targets (--targets):
//   worst   (default) a mix of --seeks N: the frame just before each of the
//           keyframes with the most frames to decode since the last one (the
//           worst case of a seek: the decoder starts at the keyframe before),
//           the last frame, the first keyframe after the start, and the rest
//           spread evenly over the file
//   frames  N encoded frames spread evenly by index (more where frames are
//           dense, as in a moving segment): the seek study's sample
//   at:T,T,...  exactly these times (seconds)
// Each target is a time halfway between its frame and the next one.
//
// Output: NDJSON on stdout, one object per line:
//   {"type":"seek","file","round","target","expect","landed","key","since_key",
//    "since_key_bytes","since_key_s","seeked_ms","frame_ms","ok","why"}
//   {"type":"play","file","from","wall_s","advanced_s","frames","lag_ms_median",
//    "lag_ms_max","audio_bytes","video_bytes","dropped","ok","why"}
//   {"type":"file","file","duration","expect_duration","frames","keyframes",
//    "seeks","worst_ms","median_ms","min_ms","failures","ok"}
// `since_key` counts the frames decoded to show the target, from its keyframe
// to it, both included (`since_key_bytes`: their bytes). `frame_ms` is to the frame's presentation (null when
// it never came); the budget is checked on the larger of the two times.
// Exit status: 0 every check passed, 1 a check failed, 2 usage or set-up error.
//
// Options:
//   --mkclip PATH          mkclip binary (required)
//   --chromium PATH        browser binary [$RX_CHROMIUM or /usr/bin/chromium]
//   --seeks N              targets per file [12]
//   --targets worst|frames|at:T,...   [worst]
//   --rounds R             visit every target R times, in a new order each
//                          round [1]
//   --budget-ms MS         a seek must complete within MS [1000]
//   --expect-duration S    the element's duration must be S +- --duration-slack
//   --duration-slack S     [0.1]
//   --play S               seconds of playback to check (0: none) [3]
//   --timeout-ms MS        give up on one seek after MS [15000]
'use strict';

const fs = require('fs');
const http = require('http');
const path = require('path');
const { execFileSync } = require('child_process');

function usage(msg) {
    process.stderr.write(`seek.js: ${msg} (see the comment at the top of seek.js)\n`);
    process.exit(2);
}

function parseArgs(argv) {
    const o = {
        mkclip: null,
        chromium: process.env.RX_CHROMIUM || '/usr/bin/chromium',
        seeks: 12,
        targets: 'worst',
        rounds: 1,
        budgetMs: 1000,
        expectDuration: null,
        durationSlack: 0.1,
        play: 3,
        timeoutMs: 15000,
        files: [],
    };
    const num = (name, v, lo, hi) => {
        const x = Number(v);
        if (v === undefined || !Number.isFinite(x) || x < lo || x > hi)
            usage(`bad ${name} '${v}'`);
        return x;
    };
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        const val = () => {
            if (i + 1 >= argv.length)
                usage(`missing value after '${a}'`);
            return argv[++i];
        };
        switch (a) {
        case '--mkclip': o.mkclip = val(); break;
        case '--chromium': o.chromium = val(); break;
        case '--seeks': o.seeks = Math.round(num(a, val(), 1, 10000)); break;
        case '--targets': o.targets = val(); break;
        case '--rounds': o.rounds = Math.round(num(a, val(), 1, 1000)); break;
        case '--budget-ms': o.budgetMs = num(a, val(), 1, 1e6); break;
        case '--expect-duration': o.expectDuration = num(a, val(), 0, 1e6); break;
        case '--duration-slack': o.durationSlack = num(a, val(), 0, 1e6); break;
        case '--play': o.play = num(a, val(), 0, 600); break;
        case '--timeout-ms': o.timeoutMs = num(a, val(), 100, 1e7); break;
        default:
            if (a.startsWith('-'))
                usage(`unknown option '${a}'`);
            o.files.push(a);
        }
    }
    if (!o.mkclip)
        usage('--mkclip is required');
    if (!o.files.length)
        usage('no file to play');
    if (!/^(worst|frames|at:[0-9.,]+)$/.test(o.targets))
        usage(`bad --targets '${o.targets}'`);
    return o;
}

// ---- what the file holds: its video frames (mkclip --packets) ----

// Video frames in presentation order: {t (s), key (bool), size}; AV1 in WebM
// has no reordering, but sort anyway.
function readFrames(mkclip, file) {
    let out;
    try {
        out = execFileSync(mkclip, ['--packets', file], { encoding: 'utf8', maxBuffer: 1 << 28 });
    } catch (e) {
        throw new Error(`cannot list the packets of '${file}': ${e.message.split('\n')[0]}`);
    }
    const frames = [];
    let audio = 0, video = 0, stream = null;
    for (const line of out.split('\n')) {
        const f = line.split(' ');
        if (f.length < 6)
            continue;
        if (f[0] === 'audio')
            audio += Number(f[4]);
        if (f[0] !== 'video')
            continue;
        if (stream === null)
            stream = f[1]; // the first video stream only
        if (f[1] !== stream)
            continue;
        video += Number(f[4]);
        if (f[2] === '-')
            continue;
        frames.push({ t: Number(f[2]) / 1e6, size: Number(f[4]), key: f[5] === '1' });
    }
    frames.sort((a, b) => a.t - b.t);
    if (!frames.length)
        throw new Error(`'${file}' has no video frames`);
    // For each frame: its keyframe, and the frames and bytes to decode from
    // there to show it (both ends included).
    let k = -1, bytes = 0;
    frames.forEach((fr, i) => {
        if (fr.key || k < 0) {
            k = i;
            bytes = 0;
        }
        bytes += fr.size;
        fr.keyIndex = k;
        fr.sinceKey = i - k + 1;
        fr.sinceKeyBytes = bytes;
    });
    return { frames, audioBytes: audio, videoBytes: video };
}

// The time halfway between frame i and the next one (or the end).
function midAfter(frames, i, end) {
    const next = i + 1 < frames.length ? frames[i + 1].t : end;
    return frames[i].t + Math.max(0.0005, (next - frames[i].t) / 2);
}

// The index of the frame on screen at t: the last whose time is <= t.
function frameAt(frames, t) {
    let lo = 0, hi = frames.length - 1, best = 0;
    while (lo <= hi) {
        const mid = (lo + hi) >> 1;
        if (frames[mid].t <= t + 1e-6) {
            best = mid;
            lo = mid + 1;
        } else {
            hi = mid - 1;
        }
    }
    return best;
}

function pickTargets(o, frames, end) {
    const n = frames.length;
    const picked = new Map(); // frame index -> target time
    const add = i => {
        if (i >= 0 && i < n && !picked.has(i))
            picked.set(i, midAfter(frames, i, end));
    };
    if (o.targets.startsWith('at:')) {
        return o.targets.slice(3).split(',').filter(s => s !== '').map(Number)
            .map(t => ({ t, i: frameAt(frames, t) }));
    }
    if (o.targets === 'frames') {
        const m = Math.min(o.seeks, n);
        for (let k = 0; k < m; k++)
            add(Math.floor((k + 0.5) * n / m));
    } else {
        // The frame before each keyframe, most frames since its own first.
        const before = [];
        for (let i = 1; i < n; i++)
            if (frames[i].key)
                before.push(i - 1);
        before.push(n - 1); // the last frame: decoded from the last keyframe
        before.sort((a, b) => frames[b].sinceKey - frames[a].sinceKey);
        before.slice(0, Math.max(1, Math.floor(o.seeks / 2))).forEach(add);
        add(n - 1);
        const firstKey = frames.findIndex((f, i) => i > 0 && f.key);
        if (firstKey > 0)
            add(firstKey);
        for (let k = 0; picked.size < Math.min(o.seeks, n) && k < 4 * o.seeks; k++) {
            const slots = o.seeks;
            const t = frames[0].t + (k % slots + 0.5) * (end - frames[0].t) / slots;
            add(frameAt(frames, t) + Math.floor(k / slots));
        }
    }
    return [...picked.entries()].map(([i, t]) => ({ t, i })).sort((a, b) => a.t - b.t);
}

// A deterministic shuffle (xorshift32) so rounds visit targets in new
// orders, and no target directly follows itself: Chromium completes a seek
// to the current position of a paused element at once.
function shuffled(list, seed) {
    const a = list.slice();
    let s = (seed * 2654435761) >>> 0 || 1;
    const rnd = () => {
        s ^= s << 13; s >>>= 0;
        s ^= s >>> 17;
        s ^= s << 5; s >>>= 0;
        return s / 4294967296;
    };
    for (let i = a.length - 1; i > 0; i--) {
        const j = Math.floor(rnd() * (i + 1));
        [a[i], a[j]] = [a[j], a[i]];
    }
    return a;
}

// ---- the HTTP server: the page, and each file with byte ranges ----

const PAGE = `<!doctype html><meta charset="utf-8"><title>seek</title>
<body style="margin:0;background:#000"><video id="v" preload="auto" playsinline
style="width:640px;height:360px"></video></body>`;

function serve(files) {
    const server = http.createServer((req, res) => {
        const url = new URL(req.url, 'http://127.0.0.1');
        if (url.pathname === '/') {
            res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
            res.end(PAGE);
            return;
        }
        const m = /^\/media\/(\d+)\.webm$/.exec(url.pathname);
        const file = m ? files[Number(m[1])] : undefined;
        if (!file) {
            res.writeHead(404);
            res.end();
            return;
        }
        let size;
        try {
            size = fs.statSync(file).size;
        } catch (e) {
            res.writeHead(404);
            res.end();
            return;
        }
        const headers = {
            'Content-Type': 'video/webm',
            'Accept-Ranges': 'bytes',
            'Cache-Control': 'no-store',
        };
        let start = 0, end = size - 1, status = 200;
        const range = req.headers.range;
        if (range) {
            const r = /^bytes=(\d*)-(\d*)$/.exec(range.trim());
            if (!r || (r[1] === '' && r[2] === '')) {
                res.writeHead(416, { 'Content-Range': `bytes */${size}` });
                res.end();
                return;
            }
            if (r[1] === '') { // the last N bytes
                start = Math.max(0, size - Number(r[2]));
            } else {
                start = Number(r[1]);
                if (r[2] !== '')
                    end = Math.min(end, Number(r[2]));
            }
            if (start >= size || start > end) {
                res.writeHead(416, { 'Content-Range': `bytes */${size}` });
                res.end();
                return;
            }
            status = 206;
            headers['Content-Range'] = `bytes ${start}-${end}/${size}`;
        }
        headers['Content-Length'] = String(end - start + 1);
        res.writeHead(status, headers);
        if (req.method === 'HEAD') {
            res.end();
            return;
        }
        const stream = fs.createReadStream(file, { start, end });
        stream.on('error', () => res.destroy());
        res.on('close', () => stream.destroy());
        stream.pipe(res);
    });
    return new Promise((resolve, reject) => {
        server.on('error', reject);
        server.listen(0, '127.0.0.1', () => resolve(server));
    });
}

// ---- in the page ----

// Load the video; resolve with what the element says of it.
async function load(page, url, timeoutMs) {
    return page.evaluate(([url, timeoutMs]) => new Promise((resolve, reject) => {
        const v = document.getElementById('v');
        const timer = setTimeout(() => reject(new Error('no metadata in time')), timeoutMs);
        v.addEventListener('error', () => {
            clearTimeout(timer);
            reject(new Error(`media error ${v.error && v.error.code}: ${v.error && v.error.message}`));
        }, { once: true });
        v.addEventListener('loadeddata', () => {
            clearTimeout(timer);
            resolve({ duration: v.duration, width: v.videoWidth, height: v.videoHeight });
        }, { once: true });
        v.src = url;
    }), [url, timeoutMs]);
}

// One seek: time to `seeked` and to the presentation of a frame whose
// mediaTime is the expected one (or the last presented, when none came).
async function seek(page, target, expect, timeoutMs) {
    return page.evaluate(([target, expect, timeoutMs]) => new Promise(resolve => {
        const v = document.getElementById('v');
        let seekedMs = null, frameMs = null, landed = null, settled = false;
        const t0 = performance.now();
        const finish = why => {
            if (settled)
                return;
            settled = true;
            clearTimeout(timer);
            resolve({ seekedMs, frameMs, landed, why, currentTime: v.currentTime });
        };
        const timer = setTimeout(() => finish('timeout'), timeoutMs);
        const onFrame = (now, md) => {
            landed = md.mediaTime;
            if (Math.abs(md.mediaTime - expect) <= 0.0015) {
                frameMs = Math.max(0, md.presentationTime - t0);
                if (seekedMs !== null)
                    finish(null);
                return;
            }
            v.requestVideoFrameCallback(onFrame);
        };
        v.requestVideoFrameCallback(onFrame);
        v.addEventListener('seeked', () => {
            seekedMs = performance.now() - t0;
            if (frameMs !== null)
                finish(null);
            // A seek that lands on the frame already shown presents nothing
            // new: give the compositor a moment, then judge what it shows.
            setTimeout(() => finish(frameMs === null ? 'no-frame' : null), 1000);
        }, { once: true });
        v.currentTime = target;
    }), [target, expect, timeoutMs]);
}

// Play for `seconds` from `from`: how far currentTime moved in that wall
// time, and for each new frame presented, how far its mediaTime lags the
// element's clock (driven by the audio renderer when there is audio).
async function play(page, from, seconds) {
    return page.evaluate(([from, seconds]) => new Promise(resolve => {
        const v = document.getElementById('v');
        const lags = [];
        let frames = 0;
        const a0 = v.webkitAudioDecodedByteCount, v0 = v.webkitVideoDecodedByteCount;
        const q0 = v.getVideoPlaybackQuality();
        let c0 = 0;
        // The frame on screen when playback starts is not a new one.
        const onFrame = (now, md) => {
            if (md.mediaTime >= c0) {
                frames++;
                lags.push((v.currentTime - md.mediaTime) * 1000);
            }
            v.requestVideoFrameCallback(onFrame);
        };
        const go = async () => {
            v.removeEventListener('seeked', go);
            c0 = v.currentTime;
            const w0 = performance.now();
            v.requestVideoFrameCallback(onFrame);
            try {
                await v.play();
            } catch (e) {
                resolve({ error: String(e) });
                return;
            }
            setTimeout(() => {
                v.pause();
                const q = v.getVideoPlaybackQuality();
                resolve({
                    wall: (performance.now() - w0) / 1000,
                    advanced: v.currentTime - c0,
                    frames,
                    lags,
                    audioBytes: v.webkitAudioDecodedByteCount - a0,
                    videoBytes: v.webkitVideoDecodedByteCount - v0,
                    dropped: q.droppedVideoFrames - q0.droppedVideoFrames,
                    ended: v.ended,
                });
            }, seconds * 1000);
        };
        v.addEventListener('seeked', go);
        v.currentTime = from;
    }), [from, seconds]);
}

// ---- the checks ----

function median(xs) {
    if (!xs.length)
        return null;
    const a = xs.slice().sort((x, y) => x - y);
    return a.length % 2 ? a[(a.length - 1) / 2] : (a[a.length / 2 - 1] + a[a.length / 2]) / 2;
}

const round1 = x => (x === null || x === undefined ? null : Math.round(x * 10) / 10);
const emit = obj => process.stdout.write(JSON.stringify(obj) + '\n');

async function runFile(o, browser, base, index, file) {
    const { frames, audioBytes, videoBytes } = readFrames(o.mkclip, file);
    const name = path.basename(file);
    const failures = [];
    const page = await browser.newPage();
    page.setDefaultTimeout(o.timeoutMs * 4);
    await page.goto(`${base}/`);
    const meta = await load(page, `${base}/media/${index}.webm`, o.timeoutMs);
    const last = frames[frames.length - 1];
    const end = Math.max(meta.duration || 0, last.t + 0.001);
    if (o.expectDuration !== null && !(Math.abs(meta.duration - o.expectDuration) <= o.durationSlack))
        failures.push(`duration ${meta.duration} s, expected ${o.expectDuration} +- ${o.durationSlack}`);

    const targets = pickTargets(o, frames, end);
    const times = [];
    for (let r = 0; r < o.rounds; r++) {
        const order = r === 0 ? targets : shuffled(targets, r + 1);
        for (const tg of order) {
            const fr = frames[tg.i];
            const res = await seek(page, tg.t, fr.t, o.timeoutMs);
            const ms = res.frameMs === null ? res.seekedMs : Math.max(res.seekedMs, res.frameMs);
            const why = [];
            if (res.why)
                why.push(res.why);
            if (res.landed === null || Math.abs(res.landed - fr.t) > 0.0015)
                why.push(`shows the frame at ${res.landed}, not ${fr.t}`);
            if (Math.abs(res.currentTime - tg.t) > 0.002)
                why.push(`currentTime ${res.currentTime}, asked ${tg.t}`);
            if (ms === null || ms > o.budgetMs)
                why.push(`took ${ms === null ? 'forever' : Math.round(ms)} ms > ${o.budgetMs}`);
            if (ms !== null)
                times.push(ms);
            emit({
                type: 'seek', file: name, round: r + 1, target: Number(tg.t.toFixed(6)),
                expect: fr.t, landed: res.landed, key: frames[fr.keyIndex].t,
                since_key: fr.sinceKey, since_key_bytes: fr.sinceKeyBytes,
                since_key_s: Number((fr.t - frames[fr.keyIndex].t).toFixed(6)),
                seeked_ms: round1(res.seekedMs), frame_ms: round1(res.frameMs),
                ok: why.length === 0, why: why.join('; ') || null,
            });
            if (why.length)
                failures.push(`seek to ${tg.t.toFixed(3)} s: ${why.join('; ')}`);
        }
    }

    if (o.play > 0) {
        const from = Math.max(frames[0].t, Math.min(end * 0.1, end - o.play - 0.5));
        const p = await play(page, from, o.play);
        const why = [];
        if (p.error) {
            why.push(`play() refused: ${p.error}`);
        } else {
            // Time must advance at the wall clock's rate (within 25 %).
            if (!(p.advanced >= 0.75 * p.wall && p.advanced <= 1.25 * p.wall))
                why.push(`currentTime advanced ${p.advanced.toFixed(3)} s in ${p.wall.toFixed(3)} s`);
            if (audioBytes > 0 && !(p.audioBytes > 0))
                why.push('no audio decoded while playing');
            // New frames are presented on the element's clock (the audio
            // renderer's): the median gap between a frame's time and the
            // clock when it is presented stays within 50 ms. Single frames
            // stray further on a busy machine (the software compositor runs
            // late now and then), so the worst is reported, not judged.
            const m = median(p.lags.map(Math.abs));
            if (m !== null && m > 50)
                why.push(`frames were presented ${Math.round(m)} ms off the clock (median)`);
        }
        emit({
            type: 'play', file: name, from: Number(from.toFixed(3)), wall_s: p.wall,
            advanced_s: p.advanced, frames: p.frames,
            lag_ms_median: p.lags ? round1(median(p.lags)) : null,
            lag_ms_max: p.lags && p.lags.length ? round1(Math.max(...p.lags.map(Math.abs))) : null,
            audio_bytes: p.audioBytes, video_bytes: p.videoBytes, dropped: p.dropped,
            ok: why.length === 0, why: why.join('; ') || null,
        });
        failures.push(...why.map(w => `play: ${w}`));
    }
    await page.close();
    emit({
        type: 'file', file: name, duration: meta.duration, expect_duration: o.expectDuration,
        width: meta.width, height: meta.height, frames: frames.length,
        keyframes: frames.filter(f => f.key).length, video_bytes: videoBytes,
        audio_bytes: audioBytes, seeks: times.length,
        worst_ms: times.length ? round1(Math.max(...times)) : null,
        median_ms: round1(median(times)), min_ms: times.length ? round1(Math.min(...times)) : null,
        failures, ok: failures.length === 0,
    });
    return failures.length === 0;
}

async function main() {
    const o = parseArgs(process.argv.slice(2));
    let chromium;
    try {
        ({ chromium } = require('playwright-core'));
    } catch (e) {
        process.stderr.write('seek.js: playwright-core is missing: run scripts/setup (npm ci in tests/browser)\n');
        process.exit(2);
    }
    if (!fs.existsSync(o.chromium)) {
        process.stderr.write(`seek.js: no browser at '${o.chromium}' (scripts/setup installs chromium)\n`);
        process.exit(2);
    }
    for (const f of o.files)
        if (!fs.existsSync(f))
            usage(`no file '${f}'`);
    const server = await serve(o.files.map(f => path.resolve(f)));
    const base = `http://127.0.0.1:${server.address().port}`;
    // As root Chromium needs --no-sandbox (playwright passes it unless
    // chromiumSandbox is set). Without the background-networking flags its
    // own connections are refused many at a time on this kind of machine.
    // Playwright gives it a fresh profile directory each launch.
    const browser = await chromium.launch({
        executablePath: o.chromium,
        headless: true,
        args: ['--disable-gpu', '--disable-quic', '--no-first-run',
               '--disable-background-networking', '--disable-component-update',
               '--disable-sync', '--autoplay-policy=no-user-gesture-required',
               '--mute-audio'],
    });
    let ok = true;
    try {
        for (let i = 0; i < o.files.length; i++) {
            try {
                ok = (await runFile(o, browser, base, i, o.files[i])) && ok;
            } catch (e) {
                ok = false;
                emit({ type: 'file', file: path.basename(o.files[i]), failures: [String(e.message || e)], ok: false });
            }
        }
    } finally {
        await browser.close();
        server.close();
    }
    process.exit(ok ? 0 : 1);
}

main().catch(e => {
    process.stderr.write(`seek.js: ${e.stack || e}\n`);
    process.exit(2);
});
