package analyze

import (
	"bufio"
	"fmt"
	"io"
	"os"

	"github.com/klauspost/compress/gzip"
)

// Log is an open log file, inflated when it is gzip-compressed.
type Log struct {
	io.Reader
	Info os.FileInfo
	// Compressed reports that the file is gzip and Reader inflates it.
	Compressed bool
	f          *os.File
	gz         *gzip.Reader
	ahead      *readAhead
}

// OpenLog opens path for reading. A gzip file is recognised by its content,
// not its name, so rotated files keep working whatever they are called.
func OpenLog(path string) (*Log, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if info.IsDir() {
		f.Close()
		return nil, fmt.Errorf("open %s: is a directory", path)
	}
	l := &Log{Info: info, f: f}
	var magic [2]byte
	if n, _ := f.ReadAt(magic[:], 0); n == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		gz, err := gzip.NewReader(bufio.NewReaderSize(f, 256<<10))
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("open %s: gzip: %w", path, err)
		}
		gz.Multistream(true)
		l.Reader, l.gz, l.Compressed = gz, gz, true
		return l, nil
	}
	// Plain files are read straight into the LineReader's buffer.
	l.Reader = f
	return l, nil
}

// Pos returns how many bytes of the file have been read (compressed bytes
// for gzip), for progress reports.
func (l *Log) Pos() int64 {
	n, err := l.f.Seek(0, io.SeekCurrent)
	if err != nil {
		return 0
	}
	return n
}

// ReadAhead makes a compressed log inflate in a goroutine of its own,
// ahead of its reader: with a second core free, inflating and parsing go
// on at once. Plain files gain nothing and are left as they are.
func (l *Log) ReadAhead() {
	if l.gz != nil && l.ahead == nil {
		l.ahead = newReadAhead(l.gz)
		l.Reader = l.ahead
	}
}

// Close closes the file.
func (l *Log) Close() error {
	if l.ahead != nil {
		l.ahead.Close()
	}
	if l.gz != nil {
		l.gz.Close()
	}
	return l.f.Close()
}
