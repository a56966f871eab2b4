# The Jenkinsfile's test image: the CI Node image plus Debian's chromium, which the explorer's
# browser spec (test/browser) drives through playwright-core (no browser download: there is
# none to reach from CI, and none needed). .ci/run installs the same package on a plain host.
ARG NODE_IMAGE=node:20-bookworm
FROM ${NODE_IMAGE}
RUN apt-get update \
 && apt-get install -y --no-install-recommends chromium fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/*
