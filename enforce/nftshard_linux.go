//go:build linux

package enforce

import (
	"net/netip"
	"strconv"
	"strings"
)

// nftShards is how many shards share one jail's bans of one family in
// the nftables backend, each shard a host set and a network set (see
// nftPlace).
//
// The kernel hands out a set's elements in dump pieces of at most 32 KiB
// and walks the set from its first element again for every piece, so
// reading a set of n elements costs O(n²). Spread over nftShards sets by a
// hash of the ban, the same bans cost about n²/nftShards to read: the
// kernel's part of reading 100,000 bans (then 200,000 interval elements) fell
// from 0.3 to 1 s in one set to some 70 ms in 16 on this project's
// machine. Beyond 16 the saving is small next to the kernel's cost per
// element (64 ms at 32 sets), and every shard is one more set and rule.
const nftShards = 16

// shardOf picks the shard that holds p among a jail's sets of p's family:
// FNV-1a over the masked prefix's 16 address bytes and its length, mixed
// by a final avalanche so that every bit of the prefix reaches the bits
// the shard is taken from. A network is hashed as written, so its whole
// interval lies in exactly one set; the hash depends on nothing but p, so
// every run, and every version that keeps nftShards, agrees on the shard.
func shardOf(p netip.Prefix) int {
	k := keyOf(p.Masked())
	h := uint64(14695981039346656037)
	for _, b := range k {
		h ^= uint64(b)
		h *= 1099511628211
	}
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	return int(h % nftShards)
}

// nftPlace is where one ban lives among a jail's sets of its family:
// shard k's host set, a hash set holding single addresses (/32, /128),
// or shard k's network set, an interval set holding every other prefix.
//
// A host address takes one element in a hash set, which the kernel
// inserts in constant time; in an interval set it would take two (a
// start and an end) in a tree that the kernel checks for overlaps at
// every insert: filling 100,000 addresses into interval sets cost the
// kernel four times what hash sets cost on this project's machine.
type nftPlace struct {
	k   int // the shard; -1 for a set of an earlier layout
	net bool
}

// placeOf picks the set that holds p.
func placeOf(p netip.Prefix) nftPlace {
	return nftPlace{k: shardOf(p), net: p.Bits() != p.Addr().BitLen()}
}

// nftPlaces lists every set of a jail and family: the host sets, then
// the network sets, each in shard order.
var nftPlaces = func() []nftPlace {
	var out []nftPlace
	for _, net := range []bool{false, true} {
		for k := range nftShards {
			out = append(out, nftPlace{k: k, net: net})
		}
	}
	return out
}()

// The tags of the sets' names: a host set's, a network set's.
const (
	nftHostTag = "ip"
	nftNetTag  = "net"
)

// nftGens are the two generations of a jail's sets of one family. The
// rules use one; a large change fills the other while nothing uses it
// (Stage), and the Apply points the rules at it and deletes the first:
// the kernel cannot rename a set, so the names alternate.
var nftGens = [2]byte{'a', 'b'}

// otherGen is the generation a large change fills when g is in use.
func otherGen(g byte) byte {
	if g == nftGens[0] {
		return nftGens[1]
	}
	return nftGens[0]
}

// shardName names a jail's set of one family at pl in generation gen:
// logjail-sshd-4.ip0a ... logjail-sshd-4.ip15a hold addresses and
// logjail-sshd-4.net0a ... logjail-sshd-4.net15a networks (b for the
// other generation). The dot keeps the names apart from the unsharded
// sets of the first versions (logjail-<jail>-4, which never hold a dot
// after the family) whatever the jail is called, jail names with digits
// and dashes included.
func shardName(jail string, fam family, pl nftPlace, gen byte) string {
	tag := nftHostTag
	if pl.net {
		tag = nftNetTag
	}
	return setName(jail, fam) + "." + tag + strconv.Itoa(pl.k) + string(gen)
}

// nftOwner is what a set's name says of it: logjail's set of a jail and
// family at a place, in a generation; pl.k is -1 for a set of an earlier
// layout, which is retired.
type nftOwner struct {
	jail string
	fam  family
	pl   nftPlace
	gen  byte
}

// key is the jail and family the set belongs to.
func (o nftOwner) key() setKey { return setKey{o.jail, o.fam} }

// current tells whether the set is one of the nftShards places.
func (o nftOwner) current() bool { return o.pl.k >= 0 && o.pl.k < nftShards }

// parseShardName splits logjail-<jail>-<4|6>.ip<k><gen> and
// .net<k><gen>. It accepts any shard number, also one at or past
// nftShards (left by a version with more shards), so that such a set is
// known as logjail's and retired. The sets of the version before the
// hash sets, logjail-<jail>-<4|6>.<k> (interval sets holding every ban),
// are logjail's too, at shard -1: they are retired.
func parseShardName(name string) (o nftOwner, ok bool) {
	dot := strings.LastIndexByte(name, '.')
	if dot < 0 {
		return o, false
	}
	digits, tag := name[dot+1:], ""
	for _, t := range []string{nftHostTag, nftNetTag} {
		if rest, ok := strings.CutPrefix(digits, t); ok {
			digits, tag = rest, t
			break
		}
	}
	if tag != "" {
		if len(digits) == 0 || (digits[len(digits)-1] != nftGens[0] && digits[len(digits)-1] != nftGens[1]) {
			return o, false
		}
		digits, o.gen = digits[:len(digits)-1], digits[len(digits)-1]
	}
	if !isDigits(digits) || len(digits) > 4 || (len(digits) > 1 && digits[0] == '0') {
		return nftOwner{}, false
	}
	jail, fam, tmp, ok := parseSetName(name[:dot])
	if !ok || tmp {
		return nftOwner{}, false
	}
	o.jail, o.fam = jail, fam
	switch tag {
	case "":
		o.pl = nftPlace{k: -1, net: true}
	default:
		o.pl.k, _ = strconv.Atoi(digits)
		o.pl.net = tag == nftNetTag
	}
	return o, true
}

// nftSetOwner tells whether a set in table inet logjail is logjail's and
// whose it is (see nftOwner).
func nftSetOwner(name string) (nftOwner, bool) {
	if o, ok := parseShardName(name); ok {
		return o, true
	}
	if jail, fam, _, ok := parseSetName(name); ok {
		return nftOwner{jail: jail, fam: fam, pl: nftPlace{k: -1, net: true}}, true
	}
	return nftOwner{}, false
}
