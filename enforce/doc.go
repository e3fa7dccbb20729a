// Package enforce makes the firewall hold exactly the active bans.
//
// logjail keeps no daemon and trusts no memory of the firewall: on every
// run it reads what the kernel really holds, compares it with the bans that
// should be active now, and applies the difference in one batch. A reboot,
// an "iptables -F" by hand, a member added by someone else, an expired
// kernel timeout or a run that died half way are all repaired by the next
// run, and a run that finds nothing to do changes nothing.
//
// A Backend (New) is one of four kinds, chosen by the configuration's
// firewall.backend:
//
//	iptables   a chain per jail, one rule per banned address
//	ipset      a hash:net set per jail and family, one INPUT rule each
//	nftables   table inet logjail, per jail and family 16 hash sets of
//	           addresses and 16 interval sets of networks
//	none       keeps nothing; plans against an empty firewall
//
// # What each backend creates
//
// Everything logjail makes is named "logjail-..." (or is table inet
// logjail), and every rule it puts into INPUT carries the comment
// "logjail". It never touches anything else.
//
// iptables, for each jail and each of iptables and ip6tables (filter
// table):
//
//	-N logjail-sshd
//	-I INPUT -p tcp -m multiport --dports 22 -m comment --comment logjail -j logjail-sshd
//	-A logjail-sshd -s 192.0.2.7/32 -m comment --comment logjail -j DROP
//
// A jail with all ports has no multiport match; one with more than 15
// ports gets one jump per group of 15; one with protocol "all" has no
// protocol match either. Such a jail blocks all of an IPv6 address's
// ICMPv6 too, neighbour discovery included: an attacker on the same link
// then gets no REJECT answer and simply times out, as with DROP. With blocktype REJECT the member
// rules end in "-j REJECT --reject-with tcp-reset" for TCP jails (the
// client sees a closed port) and icmp(6)-port-unreachable otherwise.
// Chains and jumps are created with go-iptables; the members of a family
// change with one "iptables-restore --noflush" (ip6tables-restore) per
// run. This backend keeps no kernel timeouts: a ban ends when a run
// removes it.
//
// ipset, for each jail:
//
//	create logjail-sshd-4 hash:net family inet  maxelem 65536 timeout 0
//	create logjail-sshd-6 hash:net family inet6 maxelem 65536 timeout 0
//	-I INPUT -p tcp -m multiport --dports 22 -m set --match-set logjail-sshd-4 src -m comment --comment logjail -j DROP
//	(the same with ip6tables and logjail-sshd-6)
//
// logjail reads the sets and their members over netlink (what "ipset
// save" would print, without the text); members change with one "ipset
// restore" per run. Each member carries a kernel timeout at its ban's
// end, a safety net for when logjail stops running; permanent bans have
// none. When the configured maxelem differs
// from an existing set's, the set is rebuilt beside it (logjail-sshd-4t)
// and swapped in, so the jail is never unguarded.
//
// nftables, one table:
//
//	table inet logjail {
//		set logjail-sshd-4.ip0a { type ipv4_addr; flags timeout; }
//		...                     (logjail-sshd-4.ip0a to -4.ip15a, -6.ip0a to -6.ip15a)
//		set logjail-sshd-4.net0a { type ipv4_addr; flags interval,timeout; }
//		...                     (logjail-sshd-4.net0a to -4.net15a, -6.net0a to -6.net15a)
//		chain input {
//			type filter hook input priority filter - 1; policy accept;
//			tcp dport 22 jump logjail-sshd comment "logjail-sshd tcp dport 22"
//		}
//		chain logjail-sshd {
//			ip saddr @logjail-sshd-4.ip0a counter drop comment "logjail-sshd-4.ip0a drop"
//			...  (one rule per set)
//			ip6 saddr @logjail-sshd-6.net15a counter drop comment "logjail-sshd-6.net15a drop"
//		}
//	}
//
// A jail's bans of one family are spread over 16 shards by a hash of the
// prefix as written, so a network lies whole in one set. Each shard is a
// hash set holding addresses (/32, /128), one element each, which the
// kernel inserts in constant time, and an interval set holding the other
// prefixes (a start and an end element each, in a tree the kernel checks
// for overlaps at every insert: four times the kernel's cost of a hash
// set for 100,000 addresses). The kernel hands a set's elements out in
// pieces of at most 32 KiB and walks the set from its first element again
// for every piece, so reading a set costs O(n²) in its size; 16 sets of
// n/16 cost a sixteenth. A hash set's walk follows its buckets, which the
// kernel may resize between two pieces: a dump that shows an element
// twice is read again. Chain input holds one jump per jail and port
// range, the jail's chain one rule per set, each rule named by its
// comment; with REJECT the rules end in "reject with tcp reset" for TCP
// jails and "reject with icmpx port-unreachable" otherwise. Elements
// carry timeouts like ipset's. Every Apply is one netlink transaction
// (split only past 250,000 elements, between whole prefixes, in an order
// that never leaves a jail unguarded).
//
// The last letter of a set's name is its generation, a or b: the rules
// use one, and a large change staged (see Staging) fills the other and
// moves the rules to it. Which one is in use is read from the rules.
//
// Earlier versions kept one set per jail and family (logjail-sshd-4,
// logjail-sshd-6) matched from chain input, and later 16 interval sets
// per jail and family holding every ban (logjail-sshd-4.0 ...). The next
// Apply migrates such a table in its transaction: the new sets, chains
// and rules are made and filled, the old rules and sets removed after
// them; bans that stay are reported neither added nor removed.
//
// # How a run reconciles
//
// Apply(jails, desired, now) does, in order:
//
//  1. Cleans desired: masks prefixes, unmaps ::ffff:a.b.c.d, drops bans
//     that ended at or before now, merges duplicates (permanent or the
//     later end wins) and folds a ban lying inside a wider ban of the same
//     jail into it.
//  2. Guards: refuses bans of unknown jails and bans that overlap loopback
//     (127.0.0.0/8, ::1), an address of the machine's own interfaces, or
//     Options.Never (the jails' ignoreip). Refused bans are reported in
//     Diff.Refused and never installed.
//  3. Checks limits: a jail and family with more bans than Options.MaxElem
//     fails with ErrSetFull before anything changes; a ban is never
//     dropped silently.
//  4. Reads the kernel, creates what is missing (chains, sets, jumps,
//     table), rewrites rules whose ports, protocol or block type changed,
//     deletes members not desired (or not in logjail's form, such as an
//     ACCEPT rule or an ipset nomatch entry put into logjail's chain or
//     set), moves a member found in another nftables set than its own,
//     adds the missing ones, resets kernel timeouts that no longer match
//     their ban's end, and removes the chains and sets of jails that are
//     no longer configured (and nftables sets of an earlier layout).
//
// The Diff tells what changed; Diff.Empty reports a run that changed
// nothing, which is what a second run with the same bans gives.
//
// # Checking without reading
//
// Each kernel backend is also a Checker. An Apply that leaves the kernel
// holding exactly its plan returns a Mark in its Diff: the members per
// set (ipset) or chain (iptables), or nftables' ruleset generation with
// the boot id and the namespace's cookie. Check compares the kernel with
// a mark without reading a member: the set headers in one netlink dump
// and the INPUT rules (ipset), the rule counts and jumps of
// iptables-save (iptables), or the generation (nftables). logjail's run
// uses it while the bans stay the same, and still compares in full from
// time to time, since equal counts are no proof (see Mark).
//
// # Planning without changing
//
// Plan(jails, desired, now) is Apply with every write skipped: the same
// reading of the kernel, the same plan, the same Diff. It is the dry
// run's firewall step, so a dry run shows what a run would change after
// the guard, de-duplication and folding, not the bans as the state holds
// them; an Apply right after it changes exactly what it listed, and a
// Plan after that lists nothing. The shared backend suite checks both at
// every Apply it makes.
//
// NewGuard gives callers the guard of step 2, to refuse a ban before they
// record it (logjail's ban command, and the policy, which drops the
// failures of addresses the guard refuses). Addr prints an address or
// network the way the firewall tools do; it is the one logjail uses.
//
// Kernel timeouts are capped at 2,147,483 s (about 24.8 days, ipset's
// limit); a longer ban is refreshed when half of that is used up.
//
// # Removing everything by hand
//
// "logjail firewall flush" calls Flush, which removes all of it. By hand,
// per backend (repeat the iptables lines with ip6tables):
//
//	# iptables
//	iptables-save -t filter | grep -- '--comment logjail -j logjail-'   # the jumps
//	iptables -D INPUT <rule as printed, without "-A INPUT">
//	iptables -F logjail-sshd && iptables -X logjail-sshd
//
//	# ipset: first the INPUT rules matching the sets, then the sets
//	iptables-save -t filter | grep -- '--match-set logjail-'
//	iptables -D INPUT <rule as printed, without "-A INPUT">
//	ipset list -n | grep '^logjail-' | xargs -n1 ipset destroy
//
//	# nftables
//	nft delete table inet logjail
//
// # Staging
//
// A caller that commits its own record of the bans before the firewall
// (logjail's state: a crash between leaves bans to install, never a ban
// in force the state does not know) can have the slow part of an Apply
// done while it commits, through a backend that is a Stager: Stage reads
// and plans as Apply would, and the Staged it returns is applied after
// the commit or dropped. ipset fills each set that gains StageMin members
// or more (half of the set or more) into a staging set no rule
// references (logjail-<jail>-4t), swapped with the live set at the Apply
// ("ipset swap", atomic) or renamed into place when there was none; Drop
// destroys it, and any Apply destroys one a crash left. nftables fills,
// for each jail and family that gains as much, all its bans into its sets
// of the generation no rule uses (logjail-sshd-4.ip0b ... while the rules
// use logjail-sshd-4.ip0a ...), committed at once in as many transactions
// as it takes; the rest of its transaction is built and sent at the
// Apply, which also points the jail's rules at the filled sets and
// deletes the sets they used (one transaction, a few milliseconds at
// 100,000 bans). Drop deletes the filled sets; any Apply deletes sets of
// the generation no rule uses that a crash left.
//
// # Caveats
//
// Switching backend: flush with the old one first ("logjail firewall
// flush"), then change firewall.backend; each backend's Flush removes only
// what its own kind creates.
//
// Reading an nftables set costs the kernel O(n²) in the set's size (see
// the layout above). The 16 sets per jail and family keep that small up
// to the default maxelem and well beyond (bench/RESULTS.md has the
// figures at 100,000 bans); at some millions of bans per jail it would
// show again.
//
// Apply and Flush are not safe for concurrent use, also not from two
// processes: logjail serialises its runs with the state lock.
//
// # Namespaces
//
// Options.NetNS points a backend at a named network namespace: commands
// run under "ip netns exec", go-iptables and address lookups run on an OS
// thread that entered the namespace, and the netlink sockets (nftables',
// and those reading ipset's sets) are opened there. Production leaves it empty; the tests use it so that they
// never touch the host's own firewall.
package enforce
