package journal

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// FileInfo is what the header of a journal file says.
type FileInfo struct {
	Path string
	// SeqnumID is the file's sequence number id (s= of its cursors), hex.
	SeqnumID string
	// Head and Tail are the sequence numbers of its first and last entry;
	// Entries how many it holds.
	Head, Tail, Entries uint64
	// HeadTime and TailTime are the realtime of the first and last
	// entry, microseconds.
	HeadTime, TailTime int64
	// Incompatible are the file's incompatible flags.
	Incompatible uint32
}

// Incompatible header flags. A journalctl that does not know a flag a file
// has skips the file without a word.
const (
	FlagCompressedXZ  = 1 << 0
	FlagCompressedLZ4 = 1 << 1
	FlagKeyedHash     = 1 << 2
	FlagCompressedZST = 1 << 3
	FlagCompact       = 1 << 4 // systemd 252
)

// headerLen is how much of a header ReadFileInfo needs: up to
// tail_entry_monotonic, the fields every version has.
const headerLen = 208

var signature = []byte("LPKSHHRH")

// ErrBadFile is wrapped by the errors about files that are no journal
// file, or an empty, truncated or corrupt one.
var ErrBadFile = errors.New("not a usable journal file")

// ReadFileInfo reads the header of the journal file at path.
func ReadFileInfo(path string) (FileInfo, error) {
	fi := FileInfo{Path: path}
	f, err := os.Open(path)
	if err != nil {
		return fi, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fi, err
	}
	if st.Size() == 0 {
		return fi, fmt.Errorf("journal file %s: %w: empty", path, ErrBadFile)
	}
	var h [headerLen]byte
	if _, err := io.ReadFull(f, h[:]); err != nil {
		return fi, fmt.Errorf("journal file %s: %w: %d bytes, shorter than a header", path, ErrBadFile, st.Size())
	}
	if string(h[:8]) != string(signature) {
		return fi, fmt.Errorf("journal file %s: %w: no journal signature", path, ErrBadFile)
	}
	le := binary.LittleEndian
	fi.Incompatible = le.Uint32(h[12:])
	hsize, arena := le.Uint64(h[88:]), le.Uint64(h[96:])
	if hsize < headerLen || hsize > 1<<20 || hsize+arena < hsize || hsize+arena > uint64(st.Size()) {
		return fi, fmt.Errorf("journal file %s: %w: header and arena (%d+%d bytes) do not fit its %d bytes (truncated or corrupt)",
			path, ErrBadFile, hsize, arena, st.Size())
	}
	fi.SeqnumID = hex.EncodeToString(h[72:88])
	fi.Entries = le.Uint64(h[152:])
	fi.Tail, fi.Head = le.Uint64(h[160:]), le.Uint64(h[168:])
	fi.HeadTime, fi.TailTime = int64(le.Uint64(h[184:])), int64(le.Uint64(h[192:]))
	return fi, nil
}

// isJournalName reports a name journalctl reads in a directory: *.journal,
// and *.journal~ (a file journald found dirty and put aside).
func isJournalName(name string) bool {
	return strings.HasSuffix(name, ".journal") || strings.HasSuffix(name, ".journal~")
}

// isMachineID reports a directory name journalctl descends into: 32 hex
// digits, with ".NAMESPACE" after them for a namespace's journal.
func isMachineID(name string) bool {
	id, _, _ := strings.Cut(name, ".")
	if len(id) != 32 {
		return false
	}
	_, err := hex.DecodeString(id)
	return err == nil
}

// dirFiles lists the journal files journalctl --directory=dir reads: those
// in dir and in its machine-id subdirectories (namespace: only those of
// that namespace's directories, "ID.NAMESPACE").
func dirFiles(dir string, namespace string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		p := filepath.Join(dir, e.Name())
		switch {
		case e.IsDir() && isMachineID(e.Name()):
			_, ns, _ := strings.Cut(e.Name(), ".")
			if ns != namespace {
				continue
			}
			sub, err := os.ReadDir(p)
			if err != nil {
				return nil, err
			}
			for _, s := range sub {
				if !s.IsDir() && isJournalName(s.Name()) {
					out = append(out, filepath.Join(p, s.Name()))
				}
			}
		case !e.IsDir() && isJournalName(e.Name()) && namespace == "":
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out, nil
}

// Walk lists the journal files under each path: a file is taken as it
// is; a directory is walked to any depth for *.journal and *.journal~
// files (unlike journalctl -D, which reads only machine-id
// subdirectories). For replay of copied journals.
func Walk(paths []string) ([]string, error) {
	var out []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			out = append(out, p)
			continue
		}
		var found []string
		err = filepath.WalkDir(p, func(path string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && isJournalName(d.Name()) {
				found = append(found, path)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		if len(found) == 0 {
			return nil, fmt.Errorf("%w: no *.journal file under %s", ErrNoFiles, p)
		}
		sort.Strings(found)
		out = append(out, found...)
	}
	return out, nil
}
