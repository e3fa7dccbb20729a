package journal

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// DroppedMessageID is the MESSAGE_ID of journald's notice "Suppressed N
// messages from UNIT", logged when its rate limit drops a unit's messages.
const DroppedMessageID = "a596d6fe7bfa4994828e72309e95d61e"

// ErrNoFiles is wrapped by the error of a source without journal files.
var ErrNoFiles = errors.New("no journal files")

// Source is one journal to read: the local journal, unless Directory,
// Files or Namespace say otherwise.
type Source struct {
	// Directory is read like journalctl --directory: its journal files
	// and those of its machine-id subdirectories.
	Directory string
	// Files are journal files, glob patterns allowed.
	Files []string
	// Namespace reads a journal namespace (journalctl --namespace).
	Namespace string
	// Match selects entries (journalctl's match terms, see Match); empty
	// reads every entry.
	Match []string
	// Units are systemd units whose messages journald's rate limit
	// notices count against this source, beside the units its entries
	// come from.
	Units []string
	// Command is the journalctl to run; "" means "journalctl".
	Command string
	// Roots are where the local journal lives; nil means /var/log/journal
	// and /run/log/journal. MachineID is the local machine's id; "" reads
	// /etc/machine-id. For tests.
	Roots     []string
	MachineID string
}

// Key names the source in the state file and in status: "local",
// "namespace:NAME", "directory:DIR" or "files:GLOB,GLOB".
func (s *Source) Key() string {
	switch {
	case s.Directory != "":
		return "directory:" + s.Directory
	case len(s.Files) > 0:
		return "files:" + strings.Join(s.Files, ",")
	case s.Namespace != "":
		return "namespace:" + s.Namespace
	}
	return "local"
}

// String names the source for messages.
func (s *Source) String() string { return "journal " + s.Key() }

// Result is what one Read did.
type Result struct {
	// Pos is the position to save: the last entry read, or the one given
	// when nothing new came.
	Pos Position
	// Entries counts the entries delivered.
	Entries int64
	// Lost counts the entries vacuumed (deleted by journald) after the
	// saved position before they could be read.
	Lost int64
	// Suppressed counts the messages journald's rate limit dropped from
	// the source's units, as its notices say.
	Suppressed int64
	// Warnings are conditions met that did not stop the read, one line
	// each, naming the source or file: files skipped, journalctl's own
	// messages. They hold until fixed: say them once.
	Warnings []string
	// Notices are the events of this read, each said once: a cursor not
	// found, entries vacuumed before they were read, messages dropped by
	// the rate limit.
	Notices []string
	// Files are the journal files read.
	Files []string
}

// ReadOptions say where a Read starts and what it delivers.
type ReadOptions struct {
	// Prev is the position saved by the last read; nil for a source
	// never read.
	Prev *Position
	// FromEnd makes a first read (Prev nil) deliver nothing and only
	// take the position of the newest entry.
	FromEnd bool
	// Now is the time of the read, saved as the position of a source read
	// from its end while it had no entry.
	Now time.Time
	// Keep lists more fields the entries must keep (Entry.Field).
	Keep []string
}

// Read runs journalctl on the source from o.Prev and hands each new entry
// to fn, in journal order. An error of fn stops reading and is returned.
// Any error means the entries delivered must not be kept.
func Read(ctx context.Context, src *Source, o ReadOptions, fn func(*Entry) error) (Result, error) {
	var res Result
	if o.Prev != nil {
		res.Pos = *o.Prev
	}
	files, err := src.files(&res)
	if err != nil {
		return res, err
	}
	res.Files = files
	m, err := ParseMatch(src.Match)
	if err != nil {
		return res, fmt.Errorf("%s: %w", src, err)
	}
	keep := append(append([]string(nil), o.Keep...), m.Fields()...)
	// Only the fields logjail reads: a journald entry has twenty or more
	// (_CMDLINE, _SYSTEMD_CGROUP, _CAP_EFFECTIVE, ...), which journalctl
	// would format and logjail parse for nothing. __CURSOR and the
	// timestamps come anyway.
	fields := append(fieldNames[fRealtime+1:], keep...)
	args := []string{"-q", "--no-pager", "-o", "export", "--output-fields=" + strings.Join(fields, ",")}
	for _, f := range files {
		args = append(args, "--file="+f)
	}
	// How to start: a cursor, a time, the newest entry, or the beginning.
	var (
		cursorMode bool
		since      int64 = -1
		probe      bool
	)
	switch {
	case o.Prev == nil || (o.Prev.Cursor == "" && o.Prev.Realtime == 0):
		if o.FromEnd {
			probe = true
			args = append(args, "-n", "1")
		}
	case o.Prev.Cursor == "":
		since = o.Prev.Realtime
	default:
		c, err := parseCursor(o.Prev.Cursor)
		if err != nil {
			res.Notices = append(res.Notices, fmt.Sprintf("%s: saved %v: reading from its time %s instead",
				src, err, formatMicro(o.Prev.Realtime)))
			since = o.Prev.Realtime
			break
		}
		head, found := seqnumHead(files, c.seqnumID)
		switch {
		case !found:
			res.Notices = append(res.Notices, fmt.Sprintf("%s: the saved cursor's journal (seqnum id %s) is gone (journal recreated, volatile storage after a reboot, or a journal of another machine): reading from its time %s; entries written after it in that journal and no longer there are lost",
				src, c.seqnumID, formatMicro(o.Prev.Realtime)))
			since = o.Prev.Realtime
		default:
			if head > c.seqnum+1 {
				res.Lost = int64(head - c.seqnum - 1)
				res.Notices = append(res.Notices, fmt.Sprintf("%s: %d entries were vacuumed before they were read (seqnum %d to %d of %s); their failures are lost",
					src, res.Lost, c.seqnum+1, head-1, c.seqnumID))
			}
			cursorMode = true
			args = append(args, "--cursor="+o.Prev.Cursor)
		}
	}
	if since >= 0 {
		args = append(args, fmt.Sprintf("--since=@%d.%06d", since/1e6, since%1e6))
	}
	if !m.Empty() {
		args = append(args, src.Match...)
		args = append(args, "+", "MESSAGE_ID="+DroppedMessageID)
	}

	cmdName := src.Command
	if cmdName == "" {
		cmdName = "journalctl"
	}
	cmd := exec.CommandContext(ctx, cmdName, args...)
	cmd.Env = append(os.Environ(), "SYSTEMD_COLORS=0", "SYSTEMD_PAGER=", "LC_ALL=C")
	var stderr limitedBuffer
	cmd.Stderr = &stderr
	out, w, err := newPipe()
	if err != nil {
		return res, fmt.Errorf("%s: %w", src, err)
	}
	defer out.Close()
	cmd.Stdout = w
	err = cmd.Start()
	w.Close()
	if err != nil {
		return res, fmt.Errorf("%s: run %s: %w", src, cmdName, err)
	}
	p := NewParser(out, keep...)
	units := map[string]bool{}
	for _, u := range src.Units {
		units[u] = true
	}
	var notices []notice
	first := true
	// The last entry taken: its cursor is copied, and parsed only at the
	// end (most entries are passed over by the next).
	var lastCursor []byte
	var lastRealtime int64
	taken := false
	readErr := func() error {
		for {
			e, err := p.Next()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			isFirst := first
			first = false
			if len(e.Cursor()) == 0 {
				return fmt.Errorf("%w: entry %d has no __CURSOR", ErrFormat, e.Num)
			}
			take := func() {
				lastCursor = append(lastCursor[:0], e.Cursor()...)
				lastRealtime, taken = e.Realtime, true
			}
			if probe {
				take()
				continue
			}
			if cursorMode && isFirst && string(e.Cursor()) == o.Prev.Cursor {
				continue
			}
			if since >= 0 && e.Realtime <= since {
				continue
			}
			take()
			if string(e.MessageID()) == DroppedMessageID {
				if n, unit, ok := parseDropped(e); ok {
					notices = append(notices, notice{n, unit})
				}
				if !m.Empty() && !matchesUser(m, e) {
					continue
				}
			}
			if u := e.Unit(); len(u) > 0 && !units[string(u)] {
				units[string(u)] = true
			}
			res.Entries++
			if err := fn(e); err != nil {
				return err
			}
		}
	}()
	if readErr == nil && taken {
		pos := Position{Cursor: string(lastCursor), Realtime: lastRealtime}
		c, err := parseCursor(pos.Cursor)
		if err != nil {
			readErr = fmt.Errorf("%w: last entry: %v", ErrFormat, err)
		} else {
			pos.SeqnumID, pos.Seqnum = c.seqnumID, c.seqnum
			if pos.Realtime == 0 {
				pos.Realtime = c.realtime
			}
			res.Pos = pos
		}
	}
	if readErr != nil {
		_ = cmd.Process.Kill()
		_, _ = io.Copy(io.Discard, out)
	}
	waitErr := cmd.Wait()
	for _, l := range stderr.lines() {
		res.Warnings = append(res.Warnings, fmt.Sprintf("%s: journalctl: %s", src, l))
	}
	if readErr != nil {
		if errors.Is(readErr, ErrFormat) {
			return res, fmt.Errorf("%s: journalctl %s: %w", src, strings.Join(args, " "), readErr)
		}
		return res, readErr
	}
	if waitErr != nil {
		msg := strings.Join(stderr.lines(), "; ")
		if msg == "" {
			msg = "no message"
		}
		return res, fmt.Errorf("%s: journalctl %s: %w: %s", src, shortArgs(args), waitErr, msg)
	}
	if probe && res.Pos.Cursor == "" {
		res.Pos = Position{Realtime: o.Now.UnixMicro()}
	}
	for _, n := range notices {
		if units[n.unit] {
			res.Suppressed += n.n
		}
	}
	if res.Suppressed > 0 {
		res.Notices = append(res.Notices, fmt.Sprintf("%s: journald's rate limit dropped %d messages of %s; failures among them are lost (raise RateLimitBurst in journald.conf)",
			src, res.Suppressed, strings.Join(sortedKeys(units), ", ")))
	}
	return res, nil
}

// matchesUser reports whether a rate-limit notice is one of the source's
// own matches too (a match on journald's entries).
func matchesUser(m *Match, e *Entry) bool { return m.Matches(e) }

type notice struct {
	n    int64
	unit string
}

// parseDropped reads "Suppressed N messages from UNIT" (N_DROPPED, when
// given, is the count).
func parseDropped(e *Entry) (int64, string, bool) {
	msg := string(e.Message())
	rest, ok := strings.CutPrefix(msg, "Suppressed ")
	if !ok {
		return 0, "", false
	}
	num, rest, ok := strings.Cut(rest, " messages from ")
	if !ok {
		return 0, "", false
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if v, ok := e.Field("N_DROPPED"); ok {
		if k, err2 := strconv.ParseInt(string(v), 10, 64); err2 == nil {
			n, err = k, nil
		}
	}
	if err != nil || n < 0 {
		return 0, "", false
	}
	return n, strings.TrimSpace(rest), true
}

// seqnumHead returns the first sequence number still held by the files of
// seqnum id id, and whether any file of that id holds entries.
func seqnumHead(files []string, id string) (uint64, bool) {
	var head uint64
	found := false
	for _, f := range files {
		fi, err := ReadFileInfo(f)
		if err != nil || fi.SeqnumID != id || fi.Entries == 0 {
			continue
		}
		if !found || fi.Head < head {
			head = fi.Head
		}
		found = true
	}
	return head, found
}

// Usable returns nil when the source has journal files that can be read,
// else the error Read would give.
func (s *Source) Usable() error {
	var res Result
	_, err := s.files(&res)
	return err
}

// List returns the source's journal files that can be read.
func (s *Source) List() ([]string, error) {
	var res Result
	return s.files(&res)
}

// files lists the source's journal files that journalctl can read,
// warning about every other one.
func (s *Source) files(res *Result) ([]string, error) {
	var cands []string
	var where string
	switch {
	case len(s.Files) > 0:
		where = strings.Join(s.Files, " ")
		for _, g := range s.Files {
			m, err := filepath.Glob(g)
			if err != nil {
				return nil, fmt.Errorf("%s: %q: %w", s, g, err)
			}
			cands = append(cands, m...)
		}
	case s.Directory != "":
		where = s.Directory
		list, err := dirFiles(s.Directory, "")
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s, err)
		}
		cands = list
	default:
		roots := s.Roots
		if roots == nil {
			roots = []string{"/var/log/journal", "/run/log/journal"}
		}
		id := s.MachineID
		if id == "" {
			b, err := os.ReadFile("/etc/machine-id")
			if err != nil {
				return nil, fmt.Errorf("%s: the local journal needs the machine id: %w", s, err)
			}
			id = strings.TrimSpace(string(b))
		}
		dir := id
		if s.Namespace != "" {
			dir += "." + s.Namespace
		}
		var tried []string
		for _, r := range roots {
			d := filepath.Join(r, dir)
			tried = append(tried, d)
			list, err := dirFiles(d, "")
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("%s: %w", s, err)
			}
			cands = append(cands, list...)
		}
		where = strings.Join(tried, " or ")
		if s.Namespace != "" && len(cands) == 0 {
			return nil, fmt.Errorf("%s: %w: namespace %q has no journal directory (%s): is systemd-journald@%s running?",
				s, ErrNoFiles, s.Namespace, where, s.Namespace)
		}
	}
	var good []string
	denied := 0
	for _, f := range cands {
		fi, err := ReadFileInfo(f)
		switch {
		case errors.Is(err, fs.ErrPermission):
			denied++
			res.Warnings = append(res.Warnings, fmt.Sprintf("%s: cannot read %s: permission denied (run logjail as root or in the group systemd-journal or adm)", s, f))
			continue
		case err != nil:
			res.Warnings = append(res.Warnings, fmt.Sprintf("%s: skipped: %v", s, err))
			continue
		case fi.Incompatible&^knownFlags != 0:
			res.Warnings = append(res.Warnings, fmt.Sprintf("%s: skipped %s: it uses journal features (incompatible flags %#x) that systemd %d's journalctl does not read", s, f, fi.Incompatible&^knownFlags, builtFor))
			continue
		}
		good = append(good, f)
	}
	if len(good) == 0 {
		if denied > 0 {
			return nil, fmt.Errorf("%s: permission denied on every journal file in %s: run logjail as root or in the group systemd-journal or adm", s, where)
		}
		if len(cands) > 0 {
			return nil, fmt.Errorf("%s: %w: no usable journal file in %s (see the warnings)", s, ErrNoFiles, where)
		}
		return nil, fmt.Errorf("%s: %w in %s (no journald here, or it keeps no journal: Storage=none?)", s, ErrNoFiles, where)
	}
	return good, nil
}

// The flags of the journal format up to systemd 252, which logjail is
// tested with. A file with another flag comes from a newer systemd: an
// older journalctl would skip it in silence, a newer one might read it, but
// logjail cannot tell which it runs without running it once more; it warns
// and leaves such a file out.
const (
	builtFor   = 252
	knownFlags = FlagCompressedXZ | FlagCompressedLZ4 | FlagKeyedHash | FlagCompressedZST | FlagCompact
)

func formatMicro(us int64) string {
	if us <= 0 {
		return "(unknown)"
	}
	return time.UnixMicro(us).UTC().Format(time.RFC3339)
}

func shortArgs(args []string) string {
	var out []string
	nf := 0
	for _, a := range args {
		if strings.HasPrefix(a, "--file=") {
			nf++
			if nf > 2 {
				continue
			}
		}
		out = append(out, a)
	}
	if nf > 2 {
		out = append(out, fmt.Sprintf("(%d --file in all)", nf))
	}
	return strings.Join(out, " ")
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// limitedBuffer keeps the first 64 KiB written to it.
type limitedBuffer struct{ b bytes.Buffer }

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := 64<<10 - l.b.Len(); room > 0 {
		l.b.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (l *limitedBuffer) lines() []string {
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(l.b.Bytes()))
	for sc.Scan() {
		if t := strings.TrimSpace(sc.Text()); t != "" {
			out = append(out, t)
		}
	}
	return out
}
