# Run in every base (inside the debootstrap root before import, or as a Dockerfile step):
# no SSH host keys in the image (each node makes its own at start), no package caches.
rm -f /etc/ssh/ssh_host_*
rm -rf /var/cache/apt/archives/*.deb /var/lib/apt/lists/* /var/cache/dnf
