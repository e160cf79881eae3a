// The knowledge base, `include!`d after `common.rs` by both backends. Every query runs in a
// tenant scope. The full-text filter is the only backend-specific SQL (FTS5 `MATCH` on SQLite,
// `to_tsvector('simple', stemmed) @@ to_tsquery('simple', …)` on PostgreSQL): both select
// the chunks containing one of the stems, and the ranking is done by the caller.

mod knowledge_sql {
    use super::*;
    use crate::dbtime::DbTime;
    use crate::knowledge::*;
    use time::OffsetDateTime;

    fn entry_cols(qb: &mut QueryBuilder<Db>, model: &str) {
        qb.push(
            "SELECT e.id, e.franchise_id, e.gym_id, e.title, e.body, e.tags, e.language, \
             e.created_at, e.updated_at, \
             (SELECT COUNT(*) FROM knowledge_chunks c WHERE c.entry_id = e.id) AS chunks, \
             (SELECT COUNT(*) FROM knowledge_chunks c WHERE c.entry_id = e.id \
              AND c.embedding IS NOT NULL AND c.embedding_model = ",
        )
        .push_bind(model.to_string())
        .push(") AS embedded FROM knowledge_entries e WHERE e.gym_id = ");
    }

    #[derive(sqlx::FromRow)]
    struct EntryRow {
        id: DbUuid,
        #[allow(dead_code)]
        franchise_id: DbUuid,
        gym_id: DbUuid,
        title: String,
        body: String,
        tags: String,
        language: String,
        created_at: OffsetDateTime,
        updated_at: OffsetDateTime,
        chunks: i64,
        embedded: i64,
    }

    impl EntryRow {
        fn into_domain(self) -> StoreResult<KnowledgeEntry> {
            Ok(KnowledgeEntry {
                id: self.id.0.into(),
                gym_id: self.gym_id.0.into(),
                title: self.title,
                body: self.body,
                tags: serde_json::from_str(&self.tags)
                    .map_err(|_| StoreError::corrupt("knowledge tags", &self.tags))?,
                language: Locale::parse(&self.language)
                    .ok_or_else(|| StoreError::corrupt("knowledge language", &self.language))?,
                chunks: u32::try_from(self.chunks).unwrap_or(u32::MAX),
                embedded_chunks: u32::try_from(self.embedded).unwrap_or(u32::MAX),
                created_at: self.created_at,
                updated_at: self.updated_at,
            })
        }
    }

    #[derive(sqlx::FromRow)]
    struct ChunkRow {
        id: DbUuid,
        entry_id: DbUuid,
        title: String,
        text: String,
        stemmed: String,
    }

    impl ChunkRow {
        fn into_domain(self) -> KnowledgeChunk {
            KnowledgeChunk {
                id: self.id.0.into(),
                entry_id: self.entry_id.0.into(),
                title: self.title,
                text: self.text,
                stemmed: self.stemmed,
            }
        }
    }

    const CHUNK_SELECT: &str = "SELECT c.id, c.entry_id, e.title, c.text, c.stemmed \
         FROM knowledge_chunks c JOIN knowledge_entries e ON e.id = c.entry_id WHERE c.gym_id = ";

    async fn fetch_entry(
        tx: &mut Tx,
        scope: &Scope,
        gym: GymId,
        id: KnowledgeEntryId,
        model: &str,
    ) -> StoreResult<KnowledgeEntry> {
        let mut qb = QueryBuilder::<Db>::new("");
        entry_cols(&mut qb, model);
        qb.push_bind(db(gym)).push(" AND e.id = ").push_bind(db(id));
        push_scope(&mut qb, scope, "e.franchise_id", "e.gym_id");
        let row: Option<EntryRow> = qb
            .build_query_as()
            .fetch_optional(&mut **tx)
            .await
            .map_err(map_db_err)?;
        row.ok_or(StoreError::NotFound("knowledge entry"))?
            .into_domain()
    }

    fn search_key(e: &ValidKnowledgeEntry) -> String {
        let mut k = jarvis_core::search::fold(&e.title);
        for t in &e.tags {
            k.push(jarvis_core::search::KEY_SEPARATOR);
            k.push_str(&jarvis_core::search::fold(t));
        }
        k
    }

    async fn insert_chunks(
        tx: &mut Tx,
        franchise: FranchiseId,
        gym: GymId,
        entry: KnowledgeEntryId,
        chunks: &[NewKnowledgeChunk],
    ) -> StoreResult<()> {
        for (seq, c) in chunks.iter().enumerate() {
            let mut qb = QueryBuilder::<Db>::new(
                "INSERT INTO knowledge_chunks (id, franchise_id, gym_id, entry_id, seq, text, \
                 stemmed, stem_count) VALUES (",
            );
            let mut s = qb.separated(", ");
            s.push_bind(db(KnowledgeChunkId::new()))
                .push_bind(db(franchise))
                .push_bind(db(gym))
                .push_bind(db(entry))
                .push_bind(i64::try_from(seq).unwrap_or(i64::MAX))
                .push_bind(c.text.clone())
                .push_bind(c.stemmed.clone())
                .push_bind(i64::try_from(c.stemmed.split_whitespace().count()).unwrap_or(0));
            qb.push(")");
            qb.build().execute(&mut **tx).await.map_err(map_db_err)?;
        }
        Ok(())
    }

    async fn insert_entry(
        tx: &mut Tx,
        franchise: FranchiseId,
        gym: GymId,
        write: &KnowledgeWrite,
    ) -> StoreResult<KnowledgeEntryId> {
        let id = KnowledgeEntryId::new();
        let t = DbTime::new(now());
        let e = &write.entry;
        let mut qb = QueryBuilder::<Db>::new(
            "INSERT INTO knowledge_entries (id, franchise_id, gym_id, title, body, tags, language, \
             search_key, created_at, updated_at) VALUES (",
        );
        let mut s = qb.separated(", ");
        s.push_bind(db(id))
            .push_bind(db(franchise))
            .push_bind(db(gym))
            .push_bind(e.title.clone())
            .push_bind(e.body.clone())
            .push_bind(serde_json::to_string(&e.tags).unwrap_or_else(|_| "[]".into()))
            .push_bind(e.language.as_str())
            .push_bind(search_key(e))
            .push_bind(t)
            .push_bind(t);
        qb.push(")");
        qb.build().execute(&mut **tx).await.map_err(map_db_err)?;
        insert_chunks(tx, franchise, gym, id, &write.chunks).await?;
        Ok(id)
    }

    async fn delete_chunks(tx: &mut Tx, scope: &Scope, entry: KnowledgeEntryId) -> StoreResult<()> {
        let mut qb = QueryBuilder::<Db>::new("DELETE FROM knowledge_chunks WHERE entry_id = ");
        qb.push_bind(db(entry));
        push_scope(&mut qb, scope, "franchise_id", "gym_id");
        qb.build().execute(&mut **tx).await.map_err(map_db_err)?;
        Ok(())
    }

    async fn meter(
        tx: &mut Tx,
        franchise: FranchiseId,
        gym: GymId,
        call: &EmbeddingCall,
    ) -> StoreResult<()> {
        let t = now();
        let tokens = i64::try_from(call.input_tokens).unwrap_or(i64::MAX);
        let cost = call.cost_pico.map(|c| i64::try_from(c).unwrap_or(i64::MAX));
        let mut qb = QueryBuilder::<Db>::new(
            "INSERT INTO knowledge_usage (id, franchise_id, gym_id, model, purpose, input_tokens, \
             cost_pico, created_at) VALUES (",
        );
        let mut s = qb.separated(", ");
        s.push_bind(db(uuid::Uuid::now_v7()))
            .push_bind(db(franchise))
            .push_bind(db(gym))
            .push_bind(call.model.clone())
            .push_bind(call.purpose.as_str())
            .push_bind(tokens)
            .push_bind(cost)
            .push_bind(DbTime::new(t));
        qb.push(")");
        qb.build().execute(&mut **tx).await.map_err(map_db_err)?;
        // The gym's daily rollup: month-to-date spend and budgets count embeddings too.
        let mut qb = QueryBuilder::<Db>::new(
            "INSERT INTO cost_daily (franchise_id, gym_id, day, cost_pico, sessions, responses, \
             transcriptions, input_tokens, output_tokens, updated_at) VALUES (",
        );
        let mut s = qb.separated(", ");
        s.push_bind(db(franchise))
            .push_bind(db(gym))
            .push_bind(t.to_offset(time::UtcOffset::UTC).date())
            .push_bind(cost.unwrap_or(0))
            .push_bind(0i64)
            .push_bind(0i64)
            .push_bind(0i64)
            .push_bind(tokens)
            .push_bind(0i64)
            .push_bind(DbTime::new(t));
        qb.push(
            ") ON CONFLICT (gym_id, day) DO UPDATE SET \
             cost_pico = cost_daily.cost_pico + excluded.cost_pico, \
             input_tokens = cost_daily.input_tokens + excluded.input_tokens, \
             updated_at = excluded.updated_at",
        );
        qb.build().execute(&mut **tx).await.map_err(map_db_err)?;
        Ok(())
    }

    #[async_trait::async_trait]
    impl KnowledgeStore for ThisStore {
        async fn create_knowledge_entry(
            &self,
            scope: &Scope,
            actor: &Actor,
            gym: GymId,
            write: KnowledgeWrite,
        ) -> StoreResult<KnowledgeEntry> {
            let mut tx = self.begin(&TxCtx::Scope(*scope), true).await?;
            let g = fetch_gym(&mut tx, scope, gym).await?;
            let id = insert_entry(&mut tx, g.franchise_id, gym, &write).await?;
            audit_tx(
                &mut tx,
                actor,
                Some(g.franchise_id),
                Some(gym),
                "knowledge.create",
                "knowledge_entry",
                Some(id.to_string()),
                serde_json::json!({ "chunks": write.chunks.len() }),
            )
            .await?;
            let e = fetch_entry(&mut tx, scope, gym, id, "").await?;
            tx.commit().await.map_err(map_db_err)?;
            Ok(e)
        }

        async fn update_knowledge_entry(
            &self,
            scope: &Scope,
            actor: &Actor,
            gym: GymId,
            id: KnowledgeEntryId,
            write: KnowledgeWrite,
        ) -> StoreResult<KnowledgeEntry> {
            let mut tx = self.begin(&TxCtx::Scope(*scope), true).await?;
            let g = fetch_gym(&mut tx, scope, gym).await?;
            fetch_entry(&mut tx, scope, gym, id, "").await?;
            let e = &write.entry;
            let mut qb = QueryBuilder::<Db>::new("UPDATE knowledge_entries SET title = ");
            qb.push_bind(e.title.clone())
                .push(", body = ")
                .push_bind(e.body.clone())
                .push(", tags = ")
                .push_bind(serde_json::to_string(&e.tags).unwrap_or_else(|_| "[]".into()))
                .push(", language = ")
                .push_bind(e.language.as_str())
                .push(", search_key = ")
                .push_bind(search_key(e))
                .push(", updated_at = ")
                .push_bind(DbTime::new(now()))
                .push(" WHERE id = ")
                .push_bind(db(id))
                .push(" AND gym_id = ")
                .push_bind(db(gym));
            push_scope(&mut qb, scope, "franchise_id", "gym_id");
            qb.build().execute(&mut *tx).await.map_err(map_db_err)?;
            delete_chunks(&mut tx, scope, id).await?;
            insert_chunks(&mut tx, g.franchise_id, gym, id, &write.chunks).await?;
            audit_tx(
                &mut tx,
                actor,
                Some(g.franchise_id),
                Some(gym),
                "knowledge.update",
                "knowledge_entry",
                Some(id.to_string()),
                serde_json::json!({ "chunks": write.chunks.len() }),
            )
            .await?;
            let out = fetch_entry(&mut tx, scope, gym, id, "").await?;
            tx.commit().await.map_err(map_db_err)?;
            Ok(out)
        }

        async fn delete_knowledge_entry(
            &self,
            scope: &Scope,
            actor: &Actor,
            gym: GymId,
            id: KnowledgeEntryId,
        ) -> StoreResult<()> {
            let mut tx = self.begin(&TxCtx::Scope(*scope), true).await?;
            let g = fetch_gym(&mut tx, scope, gym).await?;
            fetch_entry(&mut tx, scope, gym, id, "").await?;
            delete_chunks(&mut tx, scope, id).await?;
            let mut qb = QueryBuilder::<Db>::new("DELETE FROM knowledge_entries WHERE id = ");
            qb.push_bind(db(id))
                .push(" AND gym_id = ")
                .push_bind(db(gym));
            push_scope(&mut qb, scope, "franchise_id", "gym_id");
            qb.build().execute(&mut *tx).await.map_err(map_db_err)?;
            audit_tx(
                &mut tx,
                actor,
                Some(g.franchise_id),
                Some(gym),
                "knowledge.delete",
                "knowledge_entry",
                Some(id.to_string()),
                serde_json::json!({}),
            )
            .await?;
            tx.commit().await.map_err(map_db_err)?;
            Ok(())
        }

        async fn import_knowledge_entries(
            &self,
            scope: &Scope,
            actor: &Actor,
            gym: GymId,
            writes: Vec<KnowledgeWrite>,
        ) -> StoreResult<Vec<KnowledgeEntry>> {
            let mut tx = self.begin(&TxCtx::Scope(*scope), true).await?;
            let g = fetch_gym(&mut tx, scope, gym).await?;
            let mut ids = Vec::with_capacity(writes.len());
            for w in &writes {
                ids.push(insert_entry(&mut tx, g.franchise_id, gym, w).await?);
            }
            audit_tx(
                &mut tx,
                actor,
                Some(g.franchise_id),
                Some(gym),
                "knowledge.import",
                "gym",
                Some(gym.to_string()),
                serde_json::json!({ "entries": ids.len() }),
            )
            .await?;
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                out.push(fetch_entry(&mut tx, scope, gym, id, "").await?);
            }
            tx.commit().await.map_err(map_db_err)?;
            Ok(out)
        }

        async fn knowledge_entry(
            &self,
            scope: &Scope,
            gym: GymId,
            id: KnowledgeEntryId,
            model: &str,
        ) -> StoreResult<KnowledgeEntry> {
            let mut tx = self.begin(&TxCtx::Scope(*scope), false).await?;
            let e = fetch_entry(&mut tx, scope, gym, id, model).await?;
            tx.commit().await.map_err(map_db_err)?;
            Ok(e)
        }

        async fn list_knowledge_entries(
            &self,
            scope: &Scope,
            gym: GymId,
            q: Option<&str>,
            model: &str,
            page: PageRequest,
        ) -> StoreResult<Page<KnowledgeEntry>> {
            let mut tx = self.begin(&TxCtx::Scope(*scope), false).await?;
            let q = q.map(jarvis_core::search::fold).filter(|q| !q.is_empty());
            let filter = |qb: &mut QueryBuilder<Db>| {
                qb.push_bind(db(gym));
                push_scope(qb, scope, "e.franchise_id", "e.gym_id");
                if let Some(q) = &q {
                    push_search(qb, q, &["e.search_key"]);
                }
            };
            let mut qb = QueryBuilder::<Db>::new(
                "SELECT COUNT(*) FROM knowledge_entries e WHERE e.gym_id = ",
            );
            filter(&mut qb);
            let total = count(&mut tx, qb).await?;
            let mut qb = QueryBuilder::<Db>::new("");
            entry_cols(&mut qb, model);
            filter(&mut qb);
            qb.push(" ORDER BY e.updated_at DESC, e.id DESC");
            push_page(&mut qb, page);
            let rows: Vec<EntryRow> = qb
                .build_query_as()
                .fetch_all(&mut *tx)
                .await
                .map_err(map_db_err)?;
            tx.commit().await.map_err(map_db_err)?;
            page_of(rows, total, page, EntryRow::into_domain)
        }

        async fn knowledge_fts_candidates(
            &self,
            scope: &Scope,
            gym: GymId,
            stems: &[String],
            limit: u32,
        ) -> StoreResult<FtsCandidates> {
            // Stems are folded letters and digits (`jarvis_core::knowledge::stems`); anything
            // else is dropped so no query syntax can reach the engines.
            let terms: Vec<String> = stems
                .iter()
                .filter(|s| !s.is_empty() && s.chars().all(char::is_alphanumeric))
                .take(64)
                .cloned()
                .collect();
            let mut tx = self.begin(&TxCtx::Scope(*scope), false).await?;
            let mut qb = QueryBuilder::<Db>::new(
                "SELECT COUNT(*), CAST(COALESCE(SUM(stem_count), 0) AS BIGINT) \
                 FROM knowledge_chunks WHERE gym_id = ",
            );
            qb.push_bind(db(gym));
            push_scope(&mut qb, scope, "franchise_id", "gym_id");
            let (total, stems_total): (i64, i64) = qb
                .build_query_as()
                .fetch_one(&mut *tx)
                .await
                .map_err(map_db_err)?;
            let mut chunks = Vec::new();
            if !terms.is_empty() {
                let mut qb = QueryBuilder::<Db>::new(CHUNK_SELECT);
                qb.push_bind(db(gym));
                push_scope(&mut qb, scope, "c.franchise_id", "c.gym_id");
                match BACKEND {
                    Backend::Sqlite => {
                        let expr = terms
                            .iter()
                            .map(|t| format!("\"{t}\""))
                            .collect::<Vec<_>>()
                            .join(" OR ");
                        qb.push(
                            " AND c.id IN (SELECT chunk_id FROM knowledge_chunks_fts \
                             WHERE knowledge_chunks_fts MATCH ",
                        )
                        .push_bind(expr)
                        .push(")");
                    }
                    Backend::Postgres => {
                        qb.push(" AND to_tsvector('simple', c.stemmed) @@ to_tsquery('simple', ")
                            .push_bind(terms.join(" | "))
                            .push(")");
                    }
                }
                qb.push(" ORDER BY c.id LIMIT ").push_bind(i64::from(limit));
                let rows: Vec<ChunkRow> = qb
                    .build_query_as()
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(map_db_err)?;
                chunks = rows.into_iter().map(ChunkRow::into_domain).collect();
            }
            tx.commit().await.map_err(map_db_err)?;
            Ok(FtsCandidates {
                chunks,
                total_chunks: u64::try_from(total).unwrap_or(0),
                total_stems: u64::try_from(stems_total).unwrap_or(0),
            })
        }

        async fn knowledge_chunks(
            &self,
            scope: &Scope,
            gym: GymId,
            ids: &[KnowledgeChunkId],
        ) -> StoreResult<Vec<KnowledgeChunk>> {
            if ids.is_empty() {
                return Ok(Vec::new());
            }
            let mut tx = self.begin(&TxCtx::Scope(*scope), false).await?;
            let mut qb = QueryBuilder::<Db>::new(CHUNK_SELECT);
            qb.push_bind(db(gym));
            push_scope(&mut qb, scope, "c.franchise_id", "c.gym_id");
            qb.push(" AND c.id IN (");
            let mut s = qb.separated(", ");
            for id in ids {
                s.push_bind(db(*id));
            }
            qb.push(")");
            let rows: Vec<ChunkRow> = qb
                .build_query_as()
                .fetch_all(&mut *tx)
                .await
                .map_err(map_db_err)?;
            tx.commit().await.map_err(map_db_err)?;
            Ok(rows.into_iter().map(ChunkRow::into_domain).collect())
        }

        async fn knowledge_chunks_to_embed(
            &self,
            scope: &Scope,
            gym: GymId,
            model: &str,
            limit: u32,
        ) -> StoreResult<Vec<KnowledgeChunk>> {
            let mut tx = self.begin(&TxCtx::Scope(*scope), false).await?;
            let mut qb = QueryBuilder::<Db>::new(CHUNK_SELECT);
            qb.push_bind(db(gym));
            push_scope(&mut qb, scope, "c.franchise_id", "c.gym_id");
            qb.push(
                " AND (c.embedding IS NULL OR c.embedding_model IS NULL OR c.embedding_model <> ",
            )
            .push_bind(model.to_string())
            .push(") ORDER BY c.entry_id, c.seq LIMIT ")
            .push_bind(i64::from(limit));
            let rows: Vec<ChunkRow> = qb
                .build_query_as()
                .fetch_all(&mut *tx)
                .await
                .map_err(map_db_err)?;
            tx.commit().await.map_err(map_db_err)?;
            Ok(rows.into_iter().map(ChunkRow::into_domain).collect())
        }

        async fn knowledge_gyms_to_embed(
            &self,
            scope: &Scope,
            model: &str,
        ) -> StoreResult<Vec<(FranchiseId, GymId)>> {
            let mut tx = self.begin(&TxCtx::Scope(*scope), false).await?;
            let mut qb = QueryBuilder::<Db>::new(
                "SELECT DISTINCT franchise_id, gym_id FROM knowledge_chunks WHERE (embedding IS NULL \
                 OR embedding_model IS NULL OR embedding_model <> ",
            );
            qb.push_bind(model.to_string()).push(")");
            push_scope(&mut qb, scope, "franchise_id", "gym_id");
            let rows: Vec<(DbUuid, DbUuid)> = qb
                .build_query_as()
                .fetch_all(&mut *tx)
                .await
                .map_err(map_db_err)?;
            tx.commit().await.map_err(map_db_err)?;
            Ok(rows
                .into_iter()
                .map(|(f, g)| (f.0.into(), g.0.into()))
                .collect())
        }

        async fn store_knowledge_embeddings(
            &self,
            scope: &Scope,
            gym: GymId,
            model: &str,
            vectors: Vec<(KnowledgeChunkId, Vec<u8>)>,
            call: EmbeddingCall,
        ) -> StoreResult<u64> {
            let mut tx = self.begin(&TxCtx::Scope(*scope), true).await?;
            let g = fetch_gym(&mut tx, scope, gym).await?;
            let t = DbTime::new(now());
            let mut n = 0;
            for (id, v) in vectors {
                let mut qb = QueryBuilder::<Db>::new("UPDATE knowledge_chunks SET embedding = ");
                qb.push_bind(v)
                    .push(", embedding_model = ")
                    .push_bind(model.to_string())
                    .push(", embedded_at = ")
                    .push_bind(t)
                    .push(" WHERE id = ")
                    .push_bind(db(id))
                    .push(" AND gym_id = ")
                    .push_bind(db(gym));
                push_scope(&mut qb, scope, "franchise_id", "gym_id");
                n += qb
                    .build()
                    .execute(&mut *tx)
                    .await
                    .map_err(map_db_err)?
                    .rows_affected();
            }
            meter(&mut tx, g.franchise_id, gym, &call).await?;
            tx.commit().await.map_err(map_db_err)?;
            Ok(n)
        }

        async fn record_embedding_call(
            &self,
            scope: &Scope,
            gym: GymId,
            call: EmbeddingCall,
        ) -> StoreResult<()> {
            let mut tx = self.begin(&TxCtx::Scope(*scope), true).await?;
            let g = fetch_gym(&mut tx, scope, gym).await?;
            meter(&mut tx, g.franchise_id, gym, &call).await?;
            tx.commit().await.map_err(map_db_err)?;
            Ok(())
        }

        async fn knowledge_vectors(
            &self,
            scope: &Scope,
            gym: GymId,
            model: &str,
        ) -> StoreResult<Vec<StoredVector>> {
            let mut tx = self.begin(&TxCtx::Scope(*scope), false).await?;
            let mut qb = QueryBuilder::<Db>::new(
                "SELECT id, entry_id, embedding FROM knowledge_chunks WHERE gym_id = ",
            );
            qb.push_bind(db(gym));
            push_scope(&mut qb, scope, "franchise_id", "gym_id");
            qb.push(" AND embedding IS NOT NULL AND embedding_model = ")
                .push_bind(model.to_string())
                .push(" ORDER BY id");
            let rows: Vec<(DbUuid, DbUuid, Vec<u8>)> = qb
                .build_query_as()
                .fetch_all(&mut *tx)
                .await
                .map_err(map_db_err)?;
            tx.commit().await.map_err(map_db_err)?;
            Ok(rows
                .into_iter()
                .map(|(c, e, v)| StoredVector {
                    chunk_id: c.0.into(),
                    entry_id: e.0.into(),
                    vector: v,
                })
                .collect())
        }

        async fn knowledge_usage(&self, scope: &Scope, gym: GymId) -> StoreResult<KnowledgeUsage> {
            let mut tx = self.begin(&TxCtx::Scope(*scope), false).await?;
            let mut qb = QueryBuilder::<Db>::new(
                "SELECT COUNT(*), CAST(COALESCE(SUM(input_tokens), 0) AS BIGINT), \
                 CAST(COALESCE(SUM(cost_pico), 0) AS BIGINT) FROM knowledge_usage WHERE gym_id = ",
            );
            qb.push_bind(db(gym));
            push_scope(&mut qb, scope, "franchise_id", "gym_id");
            let (calls, tokens, cost): (i64, i64, i64) = qb
                .build_query_as()
                .fetch_one(&mut *tx)
                .await
                .map_err(map_db_err)?;
            tx.commit().await.map_err(map_db_err)?;
            Ok(KnowledgeUsage {
                calls: u64::try_from(calls).unwrap_or(0),
                input_tokens: u64::try_from(tokens).unwrap_or(0),
                cost_pico: u64::try_from(cost).unwrap_or(0),
            })
        }
    }
}
