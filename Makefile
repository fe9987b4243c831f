# Builds p22p for installing on machines without a Swift toolchain, and
# installs it: one binary (the three tools, by the name they are started
# under), the man pages and the systemd units.
#
#   make                          # build .build/static/release/p22p.stripped (as yourself)
#   sudo make install             # into /usr/local; builds nothing
#   make install PREFIX=$HOME/.local   # no root; systemd does not look for
#                                      # units there (copy them if you want them)
#   make install DESTDIR=/tmp/pkg PREFIX=/usr   # for packaging
#   sudo make uninstall           # with the same PREFIX
#   sudo make check-install       # installs into a scratch folder and runs it with the toolchain hidden
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
# the toolchain's shared libraries. A build folder of its own keeps this
# static build and a plain `swift build -c release` from relinking each other.
SCRATCH  = .build/static
BINARY   = $(SCRATCH)/release/p22p
STRIPPED = $(SCRATCH)/release/p22p.stripped

TOOLS = p22p-server p22p-up
UNITS = p22p-server.service p22p-up@.service

.PHONY: all build install uninstall sizes check-install

all: build

# swift build knows what changed; strip only when the binary did.
build:
	$(SWIFT) build -c release --static-swift-stdlib --scratch-path $(SCRATCH) --product p22p
	@if [ ! -f $(STRIPPED) ] || [ $(BINARY) -nt $(STRIPPED) ]; then echo "$(STRIP) -o $(STRIPPED) $(BINARY)"; $(STRIP) -o $(STRIPPED) $(BINARY); fi

install:
	@[ -f $(STRIPPED) ] || { echo "nothing to install: run make first (as yourself), then make install" >&2; exit 1; }
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

# What an install weighs: the binary before and after stripping.
sizes:
	@ls -l $(BINARY) $(STRIPPED) | awk '{ printf "%-36s %6.1f MB\n", $$9, $$5 / 1e6 }'

check-install:
	bash .ci/check-install
