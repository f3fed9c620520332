//! The MAGI home of the mini stack, filled with data shaped like a real one's: `.env`, `docker-compose.yml`,
//! `config/` (LiteLLM, SearXNG), `workflows/`, and under `data/` Open WebUI's `webui.db` and embedded Chroma,
//! uploads, n8n's `database.sqlite` and `config`, and a Jupyter notebook. Qdrant and Redis are seeded through
//! their own protocols once they run (see the stack).

use std::fs;
use std::path::Path;

use rusqlite::{Connection, params};

/// The n8n credential encryption key written to `data/n8n/config`.
pub(crate) const N8N_ENCRYPTION_KEY: &str = "magi-test-n8n-key-0123456789abcdef";

/// The users in `webui.db`: (id, name, email, role).
pub(crate) const WEBUI_USERS: [(&str, &str, &str, &str); 3] = [
    (
        "7e0b4d2a-0000-4000-8000-000000000001",
        "Ada Admin",
        "ada@magi.test",
        "admin",
    ),
    (
        "7e0b4d2a-0000-4000-8000-000000000002",
        "Bob User",
        "bob@magi.test",
        "user",
    ),
    (
        "7e0b4d2a-0000-4000-8000-000000000003",
        "Cy Pending",
        "cy@magi.test",
        "pending",
    ),
];

/// Writes everything under `home` that exists before the containers start.
pub(crate) fn write_home(home: &Path) {
    let file = |rel: &str, text: &str| {
        let path = home.join(rel);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)
                .unwrap_or_else(|e| panic!("cannot create {}: {e}", parent.display()));
        }
        fs::write(&path, text).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    };
    file(".env", ENV);
    file("docker-compose.yml", COMPOSE);
    file("config/litellm/config.yaml", LITELLM_CONFIG);
    file("config/searxng/settings.yml", SEARXNG_SETTINGS);
    file("workflows/daily-digest.json", WORKFLOW);
    file(
        "data/open-webui/uploads/7c1f-notes.md",
        "# Meeting notes\n\n- ship magi-backup\n- test restores monthly\n",
    );
    file(
        "data/open-webui/uploads/9a2e-budget.csv",
        "month,model,cost_usd\n2026-09,gpt-4o-mini,3.20\n2026-10,claude-sonnet,11.75\n",
    );
    file(
        "data/n8n/config",
        &format!("{{\n\t\"encryptionKey\": \"{N8N_ENCRYPTION_KEY}\"\n}}"),
    );
    file("data/jupyter/notebooks/analysis.ipynb", NOTEBOOK);
    for dir in ["data/qdrant", "data/redis"] {
        fs::create_dir_all(home.join(dir))
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", home.join(dir).display()));
    }
    sqlite(&home.join("data/open-webui/webui.db"), webui_db);
    sqlite(
        &home.join("data/open-webui/vector_db/chroma.sqlite3"),
        chroma_db,
    );
    sqlite(&home.join("data/n8n/database.sqlite"), n8n_db);
}

fn sqlite(path: &Path, fill: fn(&Connection) -> rusqlite::Result<()>) {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", parent.display()));
    }
    let conn =
        Connection::open(path).unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display()));
    fill(&conn).unwrap_or_else(|e| panic!("cannot fill {}: {e}", path.display()));
}

const NOW: i64 = 1_790_000_000;

fn webui_db(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(
        r#"
        CREATE TABLE user (
            id VARCHAR(255) NOT NULL PRIMARY KEY, name VARCHAR(255) NOT NULL, email VARCHAR(255) NOT NULL,
            role VARCHAR(255) NOT NULL, profile_image_url TEXT NOT NULL DEFAULT '/user.png',
            api_key VARCHAR(255) UNIQUE, settings JSON, info JSON, oauth_sub TEXT UNIQUE,
            created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL, last_active_at BIGINT NOT NULL
        );
        CREATE TABLE auth (
            id VARCHAR(255) NOT NULL PRIMARY KEY, email VARCHAR(255) NOT NULL, password TEXT NOT NULL,
            active INTEGER NOT NULL
        );
        CREATE TABLE chat (
            id VARCHAR(255) NOT NULL PRIMARY KEY, user_id VARCHAR(255) NOT NULL, title TEXT NOT NULL,
            chat JSON, share_id VARCHAR(255) UNIQUE, archived INTEGER NOT NULL DEFAULT 0,
            pinned BOOLEAN DEFAULT 0, meta JSON NOT NULL DEFAULT '{}', folder_id TEXT,
            created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL
        );
        CREATE TABLE chat_message (
            id TEXT NOT NULL PRIMARY KEY, chat_id TEXT NOT NULL, user_id TEXT NOT NULL, role TEXT NOT NULL,
            parent_id TEXT, content JSON, model_id TEXT, usage JSON, created_at BIGINT NOT NULL,
            updated_at BIGINT NOT NULL
        );
        CREATE INDEX chat_message_chat_id_idx ON chat_message (chat_id);
        CREATE TABLE "group" (
            id TEXT NOT NULL PRIMARY KEY, user_id TEXT, name TEXT, description TEXT, data JSON, meta JSON,
            permissions JSON, user_ids JSON, created_at BIGINT, updated_at BIGINT
        );
        CREATE TABLE config (
            id INTEGER NOT NULL PRIMARY KEY, data JSON NOT NULL, version INTEGER NOT NULL,
            created_at DATETIME DEFAULT CURRENT_TIMESTAMP, updated_at DATETIME
        );
        CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY);
        INSERT INTO alembic_version VALUES ('3781e22d8b01');
        INSERT INTO config (id, data, version) VALUES
            (1, '{"version": 0, "ui": {"default_locale": "en-US"}, "openai": {"api_base_urls": ["http://litellm:4000"]}}', 0);
        "#,
    )?;
    for (i, (id, name, email, role)) in WEBUI_USERS.iter().enumerate() {
        let t = NOW + i as i64 * 60;
        conn.execute(
            "INSERT INTO user (id, name, email, role, api_key, settings, info, created_at, updated_at,
                               last_active_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, ?9)",
            params![
                id,
                name,
                email,
                role,
                format!("sk-webui-test-{i}"),
                r#"{"ui": {"theme": "dark"}}"#,
                r#"{"location": "test"}"#,
                t,
                t + 3600
            ],
        )?;
        conn.execute(
            "INSERT INTO auth (id, email, password, active) VALUES (?1, ?2, ?3, ?4)",
            params![
                id,
                email,
                "$2b$12$Qm9ndXNIYXNoRm9yVGVzdHMuLi4uLi4uLi4uLi4uLi4uLi4uLi4uLg",
                i64::from(*role != "pending")
            ],
        )?;
    }
    let chats = [
        (
            "c0ffee00-0000-4000-8000-000000000001",
            0,
            "Backup strategy",
            "openrouter/gpt-4o-mini",
        ),
        (
            "c0ffee00-0000-4000-8000-000000000002",
            0,
            "Vector memory sizing",
            "anthropic/claude-sonnet",
        ),
        (
            "c0ffee00-0000-4000-8000-000000000003",
            1,
            "Recipe ideas",
            "openrouter/gpt-4o-mini",
        ),
    ];
    for (n, (chat_id, user, title, model)) in chats.iter().enumerate() {
        let user_id = WEBUI_USERS[*user].0;
        let t = NOW + 1000 + n as i64 * 100;
        let question = format!("{chat_id}-q");
        let answer = format!("{chat_id}-a");
        let chat = serde_json::json!({
            "id": chat_id, "title": title, "models": [model],
            "history": {
                "currentId": answer,
                "messages": {
                    question.clone(): { "id": question, "role": "user", "content": format!("Tell me about {title}"), "childrenIds": [answer] },
                    answer.clone(): { "id": answer, "parentId": question, "role": "assistant", "model": model, "content": "Here is what I know.", "childrenIds": [] }
                }
            },
            "messages": [
                { "id": question, "role": "user", "content": format!("Tell me about {title}") },
                { "id": answer, "role": "assistant", "content": "Here is what I know." }
            ],
            "timestamp": t * 1000
        });
        conn.execute(
            "INSERT INTO chat (id, user_id, title, chat, archived, pinned, meta, folder_id, created_at,
                               updated_at) VALUES (?1, ?2, ?3, ?4, 0, ?5, ?6, NULL, ?7, ?7)",
            params![
                chat_id,
                user_id,
                title,
                chat.to_string(),
                n == 0,
                r#"{"tags": ["magi"]}"#,
                t
            ],
        )?;
        conn.execute(
            "INSERT INTO chat_message (id, chat_id, user_id, role, parent_id, content, model_id, usage,
                                       created_at, updated_at)
             VALUES (?1, ?2, ?3, 'user', NULL, ?4, NULL, NULL, ?5, ?5)",
            params![question, chat_id, user_id, serde_json::json!(format!("Tell me about {title}")).to_string(), t],
        )?;
        let usage = serde_json::json!({
            "prompt_tokens": 120 + n * 10, "completion_tokens": 380 + n * 25,
            "total_tokens": 500 + n * 35
        });
        conn.execute(
            "INSERT INTO chat_message (id, chat_id, user_id, role, parent_id, content, model_id, usage,
                                       created_at, updated_at)
             VALUES (?1, ?2, ?3, 'assistant', ?4, ?5, ?6, ?7, ?8, ?8)",
            params![
                answer,
                chat_id,
                user_id,
                question,
                r#""Here is what I know.""#,
                model,
                usage.to_string(),
                t + 5
            ],
        )?;
    }
    Ok(())
}

fn chroma_db(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(
        r#"
        CREATE TABLE collections (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, dimension INTEGER,
                                  database_id TEXT NOT NULL, config_json_str TEXT);
        CREATE TABLE segments (id TEXT PRIMARY KEY, type TEXT NOT NULL, scope TEXT NOT NULL,
                               collection TEXT REFERENCES collections(id));
        CREATE TABLE embeddings (id INTEGER PRIMARY KEY, segment_id TEXT NOT NULL, embedding_id TEXT NOT NULL,
                                 seq_id BLOB NOT NULL, created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
                                 UNIQUE (segment_id, embedding_id));
        CREATE TABLE embedding_metadata (id INTEGER REFERENCES embeddings(id), key TEXT NOT NULL,
                                         string_value TEXT, int_value INTEGER, float_value REAL,
                                         PRIMARY KEY (id, key));
        INSERT INTO collections VALUES ('5b1c0e4e-1', 'file-7c1f', 384, '00000000-0000-0000-0000-000000000000', '{}');
        INSERT INTO segments VALUES ('seg-meta-1', 'urn:chroma:segment/metadata/sqlite', 'METADATA', '5b1c0e4e-1');
        "#,
    )?;
    for i in 1..=4i64 {
        conn.execute(
            "INSERT INTO embeddings (id, segment_id, embedding_id, seq_id) VALUES (?1, 'seg-meta-1', ?2, ?3)",
            params![i, format!("7c1f-chunk-{i}"), i.to_be_bytes().to_vec()],
        )?;
        conn.execute(
            "INSERT INTO embedding_metadata (id, key, string_value) VALUES (?1, 'chroma:document', ?2)",
            params![i, format!("Meeting notes, chunk {i}")],
        )?;
    }
    Ok(())
}

fn n8n_db(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(
        r#"
        CREATE TABLE workflow_entity (
            id VARCHAR(36) PRIMARY KEY NOT NULL, name VARCHAR(128) NOT NULL, active BOOLEAN NOT NULL,
            nodes TEXT, connections TEXT, settings TEXT, staticData TEXT, pinData TEXT, versionId CHAR(36),
            triggerCount INTEGER NOT NULL DEFAULT 0, meta TEXT,
            createdAt DATETIME(3) NOT NULL DEFAULT (STRFTIME('%Y-%m-%d %H:%M:%f', 'NOW')),
            updatedAt DATETIME(3) NOT NULL DEFAULT (STRFTIME('%Y-%m-%d %H:%M:%f', 'NOW'))
        );
        CREATE TABLE credentials_entity (
            id VARCHAR(36) PRIMARY KEY NOT NULL, name VARCHAR(128) NOT NULL, data TEXT NOT NULL,
            type VARCHAR(128) NOT NULL,
            createdAt DATETIME(3) NOT NULL DEFAULT (STRFTIME('%Y-%m-%d %H:%M:%f', 'NOW')),
            updatedAt DATETIME(3) NOT NULL DEFAULT (STRFTIME('%Y-%m-%d %H:%M:%f', 'NOW'))
        );
        CREATE TABLE execution_entity (
            id INTEGER PRIMARY KEY AUTOINCREMENT, workflowId VARCHAR(36) NOT NULL, finished BOOLEAN NOT NULL,
            mode VARCHAR NOT NULL, status VARCHAR NOT NULL, startedAt DATETIME, stoppedAt DATETIME
        );
        "#,
    )?;
    conn.execute(
        "INSERT INTO workflow_entity (id, name, active, nodes, connections, settings, versionId)
         VALUES ('wf-daily-digest', 'Daily digest', 1, ?1, '{}', '{\"executionOrder\":\"v1\"}',
                 '3f6b1d2c-0000-4000-8000-00000000a001')",
        params![WORKFLOW_NODES],
    )?;
    conn.execute(
        "INSERT INTO workflow_entity (id, name, active, nodes, connections, settings, versionId)
         VALUES ('wf-backup-notify', 'Backup notify', 0, '[]', '{}', '{}', '3f6b1d2c-0000-4000-8000-00000000a002')",
        [],
    )?;
    // n8n stores credentials encrypted (CryptoJS AES, base64 "U2FsdGVkX1..." = "Salted__"); these are opaque.
    conn.execute(
        "INSERT INTO credentials_entity (id, name, data, type) VALUES
            ('cred-openrouter', 'OpenRouter', 'U2FsdGVkX1+dGVzdC1vbmx5LW5vdC1hLXJlYWwta2V5LTAwMDE=', 'openAiApi'),
            ('cred-smtp', 'Mail', 'U2FsdGVkX1+dGVzdC1vbmx5LW5vdC1hLXJlYWwta2V5LTAwMDI=', 'smtp')",
        [],
    )?;
    conn.execute(
        "INSERT INTO execution_entity (workflowId, finished, mode, status, startedAt, stoppedAt)
         VALUES ('wf-daily-digest', 1, 'trigger', 'success', '2026-10-01 06:00:00', '2026-10-01 06:00:04')",
        [],
    )?;
    Ok(())
}

const WORKFLOW_NODES: &str = r#"[{"parameters":{"rule":{"interval":[{"field":"days"}]}},"name":"Every morning","type":"n8n-nodes-base.scheduleTrigger","typeVersion":1.2,"position":[0,0]},{"parameters":{"url":"http://searxng:8080/search?q=ai+news&format=json"},"name":"Search","type":"n8n-nodes-base.httpRequest","typeVersion":4.2,"position":[220,0]}]"#;

const ENV: &str = "\
# MAGI stack secrets (test values, not real keys)
OPENROUTER_API_KEY=sk-or-v1-0000000000000000000000000000000000000000000000000000000000000000
OPENAI_API_KEY=sk-proj-test-000000000000000000000000
ANTHROPIC_API_KEY=sk-ant-api03-test-0000000000000000
LITELLM_MASTER_KEY=sk-magi-master-test
WEBUI_SECRET_KEY=magi-test-webui-secret
WEBUI_ADMIN_EMAIL=ada@magi.test
WEBUI_ADMIN_PASSWORD=correct-horse-battery-staple
N8N_BASIC_AUTH_USER=admin
N8N_BASIC_AUTH_PASSWORD=n8n-test-password
SEARXNG_SECRET=searxng-test-secret
JUPYTER_TOKEN=jupyter-test-token
";

const COMPOSE: &str = r#"name: magi

services:
  open-webui:
    image: ghcr.io/open-webui/open-webui:main
    container_name: magi-cortex
    ports: ["3000:8080"]
    env_file: .env
    environment:
      OPENAI_API_BASE_URL: http://litellm:4000
      ENABLE_FORWARD_USER_INFO_HEADERS: "true"
    volumes: ["./data/open-webui:/app/backend/data"]
    depends_on: [litellm, qdrant, searxng]
    restart: unless-stopped
  litellm:
    image: ghcr.io/berriai/litellm:main-stable
    container_name: magi-router
    ports: ["4000:4000"]
    command: ["--config", "/app/config.yaml", "--port", "4000"]
    volumes: ["./config/litellm/config.yaml:/app/config.yaml:ro"]
    depends_on: [redis]
    restart: unless-stopped
  qdrant:
    image: qdrant/qdrant:v1.12.4
    container_name: magi-memory
    ports: ["6333:6333"]
    volumes: ["./data/qdrant:/qdrant/storage"]
    restart: unless-stopped
  redis:
    image: redis:7-alpine
    container_name: magi-nervous-system
    command: ["redis-server", "--dir", "/data"]
    volumes: ["./data/redis:/data"]
    restart: unless-stopped
  searxng:
    image: searxng/searxng:latest
    container_name: magi-vision
    ports: ["8080:8080"]
    volumes: ["./config/searxng:/etc/searxng"]
    restart: unless-stopped
  n8n:
    image: n8nio/n8n:latest
    container_name: magi-reflex-automation
    ports: ["5678:5678"]
    volumes: ["./data/n8n:/home/node/.n8n", "./workflows:/workflows:ro"]
    restart: unless-stopped
  firecrawl:
    image: ghcr.io/mendableai/firecrawl:latest
    container_name: magi-digestion
    ports: ["3002:3002"]
    environment:
      REDIS_URL: redis://redis:6379
      PLAYWRIGHT_MICROSERVICE_URL: http://playwright:3000/scrape
    depends_on: [redis]
  playwright:
    image: ghcr.io/mendableai/playwright-service:latest
    container_name: magi-browser
    profiles: [firecrawl]
  mcpo:
    image: ghcr.io/open-webui/mcpo:main
    container_name: magi-mcp-bridge
    ports: ["9000:9000"]
  youtube-mcp:
    image: ghcr.io/open-webui/mcpo:main
    container_name: magi-youtube-mcp
    ports: ["9001:9001"]
  jupyter:
    image: jupyter/minimal-notebook:latest
    container_name: magi-jupyter
    ports: ["8888:8888"]
    volumes: ["./data/jupyter/notebooks:/home/jovyan/work"]
  caddy:
    image: caddy:2
    container_name: magi-caddy
    profiles: [caddy]
    ports: ["8880:80", "8443:443"]
    volumes: ["./data/caddy:/data"]
"#;

const LITELLM_CONFIG: &str = r#"model_list:
  - model_name: gpt-4o-mini
    litellm_params:
      model: openrouter/openai/gpt-4o-mini
      api_key: os.environ/OPENROUTER_API_KEY
      rpm: 60
    model_info:
      input_cost_per_token: 0.00000015
      output_cost_per_token: 0.0000006
  - model_name: claude-sonnet
    litellm_params:
      model: anthropic/claude-3-5-sonnet-20241022
      api_key: os.environ/ANTHROPIC_API_KEY
      rpm: 30
    model_info:
      input_cost_per_token: 0.000003
      output_cost_per_token: 0.000015
  - model_name: gpt-4o
    litellm_params:
      model: openai/gpt-4o
      api_key: os.environ/OPENAI_API_KEY
    model_info:
      input_cost_per_token: 0.0000025
      output_cost_per_token: 0.00001

router_settings:
  num_retries: 2
  timeout: 120

litellm_settings:
  drop_params: true
  cache: true
  cache_params:
    type: redis
    host: redis
    port: 6379

general_settings:
  master_key: os.environ/LITELLM_MASTER_KEY
"#;

const SEARXNG_SETTINGS: &str = r#"use_default_settings: true
general:
  instance_name: "MAGI vision"
server:
  secret_key: "searxng-test-secret"
  limiter: false
  image_proxy: true
search:
  formats: [html, json]
redis:
  url: redis://redis:6379/1
engines:
  - name: wikipedia
    disabled: false
  - name: duckduckgo
    disabled: false
"#;

const WORKFLOW: &str = r#"{
  "name": "Daily digest",
  "nodes": [
    {"parameters": {"rule": {"interval": [{"field": "days"}]}}, "name": "Every morning",
     "type": "n8n-nodes-base.scheduleTrigger", "typeVersion": 1.2, "position": [0, 0]},
    {"parameters": {"url": "http://searxng:8080/search?q=ai+news&format=json"}, "name": "Search",
     "type": "n8n-nodes-base.httpRequest", "typeVersion": 4.2, "position": [220, 0]}
  ],
  "connections": {"Every morning": {"main": [[{"node": "Search", "type": "main", "index": 0}]]}},
  "settings": {"executionOrder": "v1"}
}
"#;

const NOTEBOOK: &str = r##"{
 "cells": [
  {"cell_type": "markdown", "metadata": {}, "source": ["# Token usage by model"]},
  {"cell_type": "code", "execution_count": 1, "metadata": {}, "outputs": [{"name": "stdout", "output_type": "stream", "text": ["3 models\n"]}],
   "source": ["models = ['gpt-4o-mini', 'claude-sonnet', 'gpt-4o']\n", "print(len(models), 'models')"]}
 ],
 "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
 "nbformat": 4,
 "nbformat_minor": 5
}
"##;
