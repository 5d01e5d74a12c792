# Node layer: the base plus the installed PostgreSQL, laid out as chapter 1 of the document.
FROM {{base}}
COPY --from={{build}} /usr/local/pgsql /usr/local/pgsql
COPY node-init /usr/local/sbin/node-init
RUN groupadd -g 501 postgres \
 && useradd -u 501 -g 501 -m -s /bin/bash postgres \
 && mkdir -p /disk1 /disk2 /disk3 /disk4 \
 && chown postgres:postgres /disk1 /disk2 /disk3 /disk4 \
 && printf 'export PATH=/usr/local/pgsql/bin:$PATH\nexport PGDATA=/disk1/data\n' > /etc/profile.d/pgsql.sh \
 && chmod 755 /usr/local/sbin/node-init
ENV PATH=/usr/local/pgsql/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PGDATA=/disk1/data \
    LANG=C.UTF-8
VOLUME ["/disk1", "/disk2", "/disk3", "/disk4"]
CMD ["/usr/local/sbin/node-init"]
