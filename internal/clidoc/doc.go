// Package clidoc writes the manual pages and the bash and zsh completions
// of a urfave/cli application from its command and flag definitions, the
// same ones --help prints, so the three cannot drift apart.
//
// [Man] returns one page for the application, NAME(8), and one per visible
// command, NAME-COMMAND(8), whose subcommands are sections of it, as git
// does (git-commit(1)). The pages are roff written here rather than with
// urfave/cli's ToMan: that makes a single page whose options heading says
// "GLOBAL OPTIONS" and whose markdown step drops text such as <HOST>.
//
// [Bash] and [Zsh] return static completion scripts: they complete command
// names, then the flags of the command reached, and leave flag values and
// file arguments to the shell's file completion. They do not run the
// program.
package clidoc
