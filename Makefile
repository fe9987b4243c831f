# Builds p22p for installing on machines without a Swift toolchain, and
# installs it: one binary (the three tools, by the name they are started
# under), the man pages and the systemd units.
#
#   make                          # build .build/release/p22p, static and stripped
#   sudo make install             # into /usr/local
#   make install PREFIX=$HOME/.local
#   make install DESTDIR=/tmp/pkg PREFIX=/usr   # for packaging
#   sudo make uninstall           # with the same PREFIX
#
# Tests are not run here: `swift test` (see README.md).

PREFIX  ?= /usr/local
DESTDIR ?=
SWIFT   ?= swift
STRIP   ?= strip

bindir  = $(DESTDIR)$(PREFIX)/bin
mandir  = $(DESTDIR)$(PREFIX)/share/man
unitdir = $(DESTDIR)$(PREFIX)/lib/systemd/system

# The Swift runtime and Foundation go into the binary, so it runs without
# the toolchain's shared libraries.
BUILD = $(SWIFT) build -c release --static-swift-stdlib --product p22p
BINARY = .build/release/p22p
STRIPPED = .build/release/p22p.stripped

TOOLS = p22p-server p22p-up
UNITS = p22p-server.service p22p-up@.service

.PHONY: all build install uninstall sizes check-install

all: $(STRIPPED)

build:
	$(BUILD)

$(STRIPPED): build
	$(STRIP) -o $@ $(BINARY)

install: $(STRIPPED)
	install -d $(bindir) $(mandir)/man1 $(mandir)/man5 $(mandir)/man8 $(unitdir)
	install -m 0755 $(STRIPPED) $(bindir)/p22p
	for tool in $(TOOLS); do ln -sf p22p $(bindir)/$$tool; done
	install -m 0644 man/p22p.1 man/p22p-up.1 $(mandir)/man1/
	install -m 0644 man/p22p.yaml.5 $(mandir)/man5/
	install -m 0644 man/p22p-server.8 $(mandir)/man8/
	# The units name the binaries where PREFIX put them.
	for unit in $(UNITS); do \
		sed 's|/usr/local/bin/|$(PREFIX)/bin/|g' systemd/$$unit > $(unitdir)/$$unit && chmod 0644 $(unitdir)/$$unit; \
	done

uninstall:
	rm -f $(bindir)/p22p $(addprefix $(bindir)/,$(TOOLS))
	rm -f $(mandir)/man1/p22p.1 $(mandir)/man1/p22p-up.1 $(mandir)/man5/p22p.yaml.5 $(mandir)/man8/p22p-server.8
	rm -f $(addprefix $(unitdir)/,$(UNITS))

# What an install weighs, file by file.
sizes: $(STRIPPED)
	@ls -l $(BINARY) $(STRIPPED) | awk '{ printf "%-32s %6.1f MB\n", $$9, $$5 / 1e6 }'

# Installs into a scratch directory and runs the tools with the Swift
# toolchain hidden (needs root, for a private mount namespace).
check-install:
	bash .ci/check-install
