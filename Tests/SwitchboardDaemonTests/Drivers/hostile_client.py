"""Hostile and broken clients for the hardening tests, protobuf-free (hand-encoded
frames) so it also runs as a second uid that cannot read root's site-packages.

Usage: hostile_client.py MODE SOCKET [PID] [ARGS...]
Prints one JSON object on the last line of stdout.
"""
import json, os, socket, struct, sys, time

def vi(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)

def rvi(b, i):
    shift = v = 0
    while True:
        c = b[i]; i += 1
        v |= (c & 0x7F) << shift
        shift += 7
        if not c & 0x80:
            return v, i

def fld(num, payload): return vi(num << 3 | 2) + vi(len(payload)) + payload
def fvi(num, v): return vi(num << 3) + vi(v)

def frame(call_id, body_num, body):
    p = fvi(1, call_id) + fld(body_num, body)
    return struct.pack('>BI', 0, len(p)) + p

def completion(route, text='hello', stream=False):
    msg = fvi(1, 2) + fld(2, text.encode())
    return fld(1, route.encode()) + fld(4, msg) + (fvi(13, 1) if stream else b'')

def parse(b):
    i, out = 0, {}
    while i < len(b):
        key, i = rvi(b, i)
        num, wt = key >> 3, key & 7
        if wt == 0: v, i = rvi(b, i)
        elif wt == 2:
            l, i = rvi(b, i); v = b[i:i + l]; i += l
        elif wt == 1: v = b[i:i + 8]; i += 8
        elif wt == 5: v = b[i:i + 4]; i += 4
        else: raise ValueError('wire type %d' % wt)
        out.setdefault(num, []).append(v)
    return out

class Conn:
    def __init__(self, path, timeout=10):
        self.s = socket.socket(socket.AF_UNIX)
        self.s.settimeout(timeout)
        self.s.connect(path)
        self.buf = b''
    def send(self, data): self.s.sendall(data)
    def read_frame(self):
        while True:
            if len(self.buf) >= 5:
                n = struct.unpack('>I', self.buf[1:5])[0]
                if len(self.buf) >= 5 + n:
                    p = self.buf[5:5 + n]; self.buf = self.buf[5 + n:]
                    return parse(p)
            c = self.s.recv(65536)
            if not c: return None
            self.buf += c
    def call(self, call_id, body_num, body):
        """Sends one call and returns its terminal frame (chunks skipped)."""
        self.send(frame(call_id, body_num, body))
        while True:
            f = self.read_frame()
            if f is None: return None
            if f.get(1, [0])[0] != call_id: continue
            if 5 in f or 6 in f: continue  # chunk, restart
            return f

def status_of(f):
    if f is None: return 'closed'
    if 8 in f:
        st = parse(f[8][0])
        return {'status': st.get(1, [0])[0], 'reason': st.get(2, [b''])[0].decode()}
    if 7 in f: return {'completion': parse(f[7][0]).get(1, [b''])[0].decode()}
    if 11 in f: return {'admin': sorted(parse(f[11][0]).keys()), 'raw': f[11][0].hex()}
    return {'other': sorted(f.keys())}

class RSS:
    def __init__(self, pid): self.pid = pid; self.peak = 0; self.sample()
    def sample(self):
        try:
            for l in open('/proc/%d/status' % self.pid):
                if l.startswith('VmRSS:'):
                    v = int(l.split()[1]) * 1024
                    self.peak = max(self.peak, v)
                    return v
        except OSError:
            return 0

def health_ok(path, within=30):
    """Whether health answers within `within` seconds (asked again after a failure: a
    daemon still answering a flood's backlog on a loaded machine took over 5 s)."""
    deadline = time.time() + within
    while True:
        try:
            c = Conn(path, timeout=max(1, deadline - time.time()))
            r = status_of(c.call(1, 10, fld(1, b'')))
            c.s.close()
            if 'admin' in r: return True
        except OSError:
            pass
        if time.time() > deadline: return False
        time.sleep(0.2)

def mode_admin(path, args):
    """As one peer: a completion, then the admin calls a non-admin must not make."""
    c = Conn(path)
    out = {}
    out['complete'] = status_of(c.call(1, 4, completion('default')))
    lst = c.call(2, 10, fld(3, fvi(7, 1000)))
    ids = []
    if lst is not None and 11 in lst:
        resp = parse(lst[11][0])
        if 3 in resp:
            for ev in parse(resp[3][0]).get(1, []):
                ids.append(parse(ev).get(1, [b''])[0].decode())
    out['listed'] = ids
    out['explain_other'] = status_of(c.call(3, 10, fld(2, fld(1, args[0].encode())))) if args else None
    out['set_key'] = status_of(c.call(4, 10, fld(4, fld(1, b'fast') + fld(2, b'sk-stolen'))))
    out['rotate_key'] = status_of(c.call(5, 10, fld(5, fld(1, b'fast') + fld(2, b'sk-stolen'))))
    out['clear_key'] = status_of(c.call(6, 10, fld(50, fld(1, b'fast'))))
    out['reload'] = status_of(c.call(7, 10, fld(6, b'')))
    out['reload_path'] = status_of(c.call(8, 10, fld(6, fld(1, b'/tmp/evil.yaml'))))
    out['health'] = status_of(c.call(9, 10, fld(1, b'')))
    print(json.dumps(out))

def mode_hold(path, args):
    """Connects, makes one health call, then waits for the daemon to close the connection.
    With a second argument, creates that file once the first call was answered."""
    seconds = float(args[0])
    c = Conn(path, timeout=seconds)
    first = status_of(c.call(1, 10, fld(1, b'')))
    if len(args) > 1:
        open(args[1], 'w').close()
    start = time.time()
    closed = False
    try:
        closed = c.read_frame() is None
    except OSError:
        closed = time.time() - start < seconds - 0.1
    print(json.dumps({'first': first, 'closed': closed, 'after': time.time() - start}))

def mode_flood(path, pid, args):
    """Writes completion frames as fast as the daemon takes them and never reads; stops
    when everything was taken, after `seconds`, or once the daemon took nothing for 3 s
    (it stopped reading; a slow daemon on a loaded machine could still be reading at a
    fixed end, which made the stall at that moment look short)."""
    n = int(args[0]); seconds = float(args[1]); route = args[2] if len(args) > 2 else 'default'
    rss = RSS(pid)
    c = Conn(path)
    c.s.setblocking(False)
    blob = b''.join(frame(i + 1, 4, completion(route)) for i in range(n))
    sent, deadline, stalled_since = 0, time.time() + seconds, None
    last_progress = time.time()
    while sent < len(blob) and time.time() < deadline and time.time() - last_progress < 3.0:
        try:
            k = c.s.send(blob[sent:sent + 65536]); sent += k; stalled_since = None; last_progress = time.time()
        except BlockingIOError:
            stalled_since = stalled_since or time.time()
            time.sleep(0.01)
        except OSError:
            break
        rss.sample()
    stalled_for = time.time() - last_progress
    end = time.time() + 1.0
    while time.time() < end:
        rss.sample(); time.sleep(0.05)
    ok = health_ok(path)
    print(json.dumps({'frames_sent': sent * n // len(blob), 'bytes_sent': sent, 'blocked': sent < len(blob),
                      'stalled_for': stalled_for,
                      'peak_rss': rss.peak, 'health_ok': ok}))

def mode_nonreading(path, pid, args):
    """Opens streaming calls and never reads them; checks the slots come back."""
    streams, route, seconds = int(args[0]), args[1], float(args[2])
    rss = RSS(pid)
    c = Conn(path)
    c.send(b''.join(frame(i + 1, 4, completion(route, stream=True)) for i in range(streams)))
    start = time.time()
    while time.time() - start < seconds:
        rss.sample()
        time.sleep(0.05)
    # Another client must now get a completion (the slots came back). Asked again until
    # 30 s have passed: on a loaded machine the write timeouts can free the slots late.
    served = None
    deadline = time.time() + 30
    while True:
        try:
            d = Conn(path, timeout=10)
            served = status_of(d.call(1, 4, completion('default')))
            d.s.close()
        except OSError as e:
            served = str(e)
        if (isinstance(served, dict) and 'completion' in served) or time.time() > deadline: break
        time.sleep(0.2)
    print(json.dumps({'peak_rss': rss.peak, 'served_after': served, 'health_ok': health_ok(path)}))

def mode_slowloris(path, pid, args):
    """N connections, each holding an almost complete frame of `size` bytes."""
    n, size, seconds = int(args[0]), int(args[1]), float(args[2])
    rss = RSS(pid)
    conns, refused = [], 0
    body = b'\0' * (size - 1)
    for i in range(n):
        try:
            c = Conn(path, timeout=2)
            c.s.setblocking(False)
            c.pending = struct.pack('>BI', 0, size) + body
            conns.append(c)
        except OSError:
            refused += 1
    start = time.time()
    while time.time() - start < seconds:
        progressed = False
        for c in conns:
            if c.pending:
                try:
                    k = c.s.send(c.pending[:1 << 20]); c.pending = c.pending[k:]; progressed = True
                except (BlockingIOError, OSError):
                    pass
        rss.sample()
        if not progressed: time.sleep(0.05)
    closed = 0
    statuses = {}
    # Each connection gets until one shared deadline to be closed (0.5 s each raced a
    # read timeout firing late on a loaded machine); closed ones answer at once.
    deadline = time.time() + 20
    for c in conns:
        c.s.setblocking(True); c.s.settimeout(max(0.05, deadline - time.time()))
        try:
            f = c.read_frame()
            st = status_of(f)
            if isinstance(st, dict) and 'status' in st:
                statuses[st['reason']] = statuses.get(st['reason'], 0) + 1
            closed += 1
        except (ConnectionResetError, BrokenPipeError):
            closed += 1  # closed by the daemon with our bytes unread
        except OSError:
            pass
    print(json.dumps({'peak_rss': rss.peak, 'refused': refused, 'closed_by_daemon': closed, 'statuses': statuses,
                      'health_ok': health_ok(path)}))

def mode_idle(path, pid, args):
    """Opens N connections that send nothing."""
    n, seconds = int(args[0]), float(args[1])
    conns = []
    for i in range(n):
        try:
            c = Conn(path, timeout=seconds + 2); conns.append(c)
        except OSError:
            pass
    over, closed = 0, 0
    deadline = time.time() + seconds
    for c in conns:
        c.s.settimeout(max(0.05, deadline - time.time()))
        try:
            f = c.read_frame()
            st = status_of(f)
            if isinstance(st, dict) and st.get('reason') == 'max_connections': over += 1
            else: closed += 1
        except OSError:
            pass
    print(json.dumps({'opened': len(conns), 'refused_max_connections': over, 'closed_idle': closed,
                      'health_ok': health_ok(path)}))

if __name__ == '__main__':
    mode, path = sys.argv[1], sys.argv[2]
    if mode == 'admin': mode_admin(path, sys.argv[3:])
    elif mode == 'hold': mode_hold(path, sys.argv[3:])
    else:
        pid = int(sys.argv[3]); args = sys.argv[4:]
        {'flood': mode_flood, 'nonreading': mode_nonreading, 'slowloris': mode_slowloris, 'idle': mode_idle}[mode](path, pid, args)
