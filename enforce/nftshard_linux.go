//go:build linux

package enforce

import (
	"net/netip"
	"strconv"
	"strings"
)

// nftShards is how many sets share one jail's bans of one family in the
// nftables backend.
//
// The kernel hands out a set's elements in dump pieces of at most 32 KiB
// and walks the set from its first element again for every piece, so
// reading a set of n elements costs O(n²). Spread over nftShards sets by a
// hash of the ban, the same bans cost about n²/nftShards to read: the
// kernel's part of reading 100,000 bans (200,000 interval elements) fell
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

// shardName names shard k of a jail's sets of one family:
// logjail-sshd-4.0 ... logjail-sshd-4.15. The dot keeps the names apart
// from the unsharded sets of earlier versions (logjail-<jail>-4, which
// never end in a dot and digits) whatever the jail is called, jail names
// with digits and dashes included.
func shardName(jail string, fam family, k int) string {
	return setName(jail, fam) + "." + strconv.Itoa(k)
}

// parseShardName splits logjail-<jail>-<4|6>.<k>. It accepts any shard
// number, also one at or past nftShards (left by a version with more
// shards), so that such a set is known as logjail's and retired.
func parseShardName(name string) (jail string, fam family, k int, ok bool) {
	dot := strings.LastIndexByte(name, '.')
	if dot < 0 {
		return "", 0, 0, false
	}
	digits := name[dot+1:]
	if !isDigits(digits) || len(digits) > 4 || (len(digits) > 1 && digits[0] == '0') {
		return "", 0, 0, false
	}
	jail, fam, tmp, ok := parseSetName(name[:dot])
	if !ok || tmp {
		return "", 0, 0, false
	}
	k, _ = strconv.Atoi(digits)
	return jail, fam, k, true
}

// nftSetOwner tells whether a set in table inet logjail is logjail's and
// to which jail and family it belongs: a shard, or an unsharded set of an
// earlier version (shard -1).
func nftSetOwner(name string) (jail string, fam family, shard int, ok bool) {
	if jail, fam, k, ok := parseShardName(name); ok {
		return jail, fam, k, true
	}
	if jail, fam, _, ok := parseSetName(name); ok {
		return jail, fam, -1, true
	}
	return "", 0, 0, false
}
