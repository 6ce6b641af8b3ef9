FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm install --no-save tsx@4
COPY tsconfig.json ./
COPY src ./src
COPY jobs ./jobs
COPY manifests ./manifests
USER node
ENV NODE_ENV=production
CMD ["npx", "tsx", "src/main.ts"]
