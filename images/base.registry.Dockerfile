# Base layer from a registry image: the build and node layers need nothing else.
FROM {{image}}
{{install}}
RUN {{finish}}
