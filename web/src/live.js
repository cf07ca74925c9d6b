// live.js — one change stream for the page (GET /api/v1/watch, read over fetch so that the
// token goes in a header, not the URL). Views subscribe to name prefixes and reload what they
// show when a change under one arrives. After a drop the stream resumes from the last event it
// saw (Last-Event-ID), and every view reloads once, as anything may have changed meanwhile.
import { useEffect, useRef, useState } from 'preact/hooks';
import { getToken } from './api.js';

const subscribers = new Set();
const stateListeners = new Set();
let state = 'connecting'; // connecting | live | reconnecting
let lastId = null;
let controller = null;
let running = false;
let authLost = () => {};

function setState(s) {
  if (s === state) return;
  state = s;
  for (const f of stateListeners) f(s);
}

function dispatch(ev) {
  for (const f of subscribers) f(ev);
}

/* Parses one SSE block ("id: ..\nevent: ..\ndata: .."); null for comments and heartbeats. */
function parseBlock(block) {
  let id = null;
  let event = 'message';
  const data = [];
  for (const line of block.split('\n')) {
    if (!line || line[0] === ':') continue;
    const i = line.indexOf(':');
    const field = i < 0 ? line : line.slice(0, i);
    let value = i < 0 ? '' : line.slice(i + 1);
    if (value[0] === ' ') value = value.slice(1);
    if (field === 'id') id = value;
    else if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
  }
  if (!data.length) return null;
  let json = null;
  try { json = JSON.parse(data.join('\n')); } catch { /* not JSON */ }
  return { id, event, json };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function loop() {
  let backoff = 500;
  let first = true;
  while (running) {
    controller = new AbortController();
    const headers = { Accept: 'text/event-stream' };
    if (getToken()) headers.Authorization = `Bearer ${getToken()}`;
    if (lastId) headers['Last-Event-ID'] = lastId;
    let watchdog = null;
    try {
      const res = await fetch('/api/v1/watch', { headers, signal: controller.signal, cache: 'no-store', credentials: 'omit' });
      if (res.status === 401) {
        running = false;
        authLost('the server no longer accepts this token');
        return;
      }
      if (!res.ok || !res.body) throw new Error(`watch answered ${res.status}`);
      setState('live');
      backoff = 500;
      if (!first) dispatch({ resync: true });
      first = false;
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = '';
      const arm = () => {
        clearTimeout(watchdog);
        // the server sends a heartbeat every 15 s: a silent minute means the stream is gone
        watchdog = setTimeout(() => controller.abort(), 60000);
      };
      arm();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        arm();
        buf += value.replace(/\r/g, '');
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const ev = parseBlock(buf.slice(0, i));
          buf = buf.slice(i + 2);
          if (!ev) continue;
          if (ev.id) lastId = ev.id;
          if (ev.event === 'change' && ev.json) dispatch(ev.json);
        }
      }
    } catch { /* dropped: try again */ }
    clearTimeout(watchdog);
    if (!running) return;
    setState('reconnecting');
    await sleep(backoff);
    backoff = Math.min(backoff * 2, 5000);
  }
}

/* Starts the stream (once per session); fn(message) is called when the token is refused. */
export function startLive(onAuthLost) {
  authLost = onAuthLost;
  if (running) return;
  running = true;
  state = 'connecting';
  loop();
}

export function stopLive() {
  running = false;
  lastId = null;
  if (controller) controller.abort();
}

/* The stream's state, as a hook: 'connecting', 'live' or 'reconnecting'. */
export function useLiveState() {
  const [s, set] = useState(state);
  useEffect(() => {
    stateListeners.add(set);
    set(state);
    return () => stateListeners.delete(set);
  }, []);
  return s;
}

/* Calls reload when a change under one of the prefixes arrives, and after the stream came
 * back from a drop: at once for the first change, then at most once per 150 ms while a burst
 * lasts (its last change is always reloaded). prefixes: an array of name prefixes ('' is all). */
export function useLive(prefixes, reload) {
  const ref = useRef(reload);
  ref.current = reload;
  const key = prefixes.join('\n');
  useEffect(() => {
    let timer = null;
    let pending = false;
    const quiet = () => {
      timer = null;
      if (!pending) return;
      pending = false;
      ref.current();
      timer = setTimeout(quiet, 150);
    };
    const fire = () => {
      if (timer) { pending = true; return; }
      ref.current();
      timer = setTimeout(quiet, 150);
    };
    const f = (ev) => {
      if (ev.resync || prefixes.some((p) => (ev.name || '').startsWith(p))) fire();
    };
    subscribers.add(f);
    return () => { subscribers.delete(f); clearTimeout(timer); };
  }, [key]);
}

/* Every change event, as it comes (the audit view lists them). */
export function useChanges(fn) {
  const ref = useRef(fn);
  ref.current = fn;
  useEffect(() => {
    const f = (ev) => ref.current(ev);
    subscribers.add(f);
    return () => subscribers.delete(f);
  }, []);
}
