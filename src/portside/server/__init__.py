"""portside server setup: a fresh Debian/Ubuntu VPS -> a hardened, portside-ready host.

A plan (model.Action data with describe()), built from read-only facts (facts.py and each concern's
gather_*), in a lock-out-safe order (plan.py), carried out by apply.Runner through a Host (host.py: this
machine, or ssh). One module per concern: users, sshd (+ sshd_proof), firewall, fail2ban, upgrades, units;
undo.py reverses it. 'portside doctor --live host' and 'portside server check' re-check it read-only
(portside.doctor.hardening).
"""
