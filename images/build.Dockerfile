# Build layer: PostgreSQL {{version}} from the upstream tarball, as chapter 1 of the document
# (./configure with defaults, make world, make install-world into /usr/local/pgsql).
FROM {{base}}
COPY {{tarball}} /work/
RUN cd /work \
 && tar {{untar}} {{tarball}} \
 && cd postgresql-{{version}} \
 && {{configure}} \
 && make -j"$(nproc)" {{world}}{{check}} \
 && make -j"$(nproc)" {{install}} \
 && cd / && rm -rf /work
