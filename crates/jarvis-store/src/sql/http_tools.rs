// Custom HTTP tools, `include!`d after `common.rs` by both backends. Every query runs in a
// tenant scope; the sealed secret is read by `http_tool_secret` only.

mod http_tools_sql {
    use super::*;
    use crate::dbtime::DbTime;
    use crate::http_tools::*;
    use sqlx::types::Json;
    use time::OffsetDateTime;

    const TOOL_COLS: &str = "id, franchise_id, gym_id, name, description, parameters, url, \
         method, timeout_ms, member_fields, enabled, created_at, updated_at";

    #[derive(sqlx::FromRow)]
    struct ToolRow {
        id: DbUuid,
        #[allow(dead_code)]
        franchise_id: DbUuid,
        gym_id: DbUuid,
        name: String,
        description: String,
        parameters: Json<serde_json::Value>,
        url: String,
        method: String,
        timeout_ms: i32,
        member_fields: Json<Vec<String>>,
        enabled: bool,
        created_at: OffsetDateTime,
        updated_at: OffsetDateTime,
    }

    impl ToolRow {
        fn into_domain(self) -> StoreResult<HttpTool> {
            let member_fields = self
                .member_fields
                .0
                .iter()
                .map(|f| {
                    MemberField::parse(f)
                        .ok_or_else(|| StoreError::corrupt("http tool member field", f))
                })
                .collect::<StoreResult<Vec<_>>>()?;
            Ok(HttpTool {
                id: self.id.0.into(),
                gym_id: self.gym_id.0.into(),
                name: self.name,
                description: self.description,
                parameters: self.parameters.0,
                url: self.url,
                method: HttpToolMethod::parse(&self.method)
                    .ok_or_else(|| StoreError::corrupt("http tool method", &self.method))?,
                timeout_ms: u32::try_from(self.timeout_ms).map_err(|_| {
                    StoreError::corrupt("http tool timeout", &self.timeout_ms.to_string())
                })?,
                member_fields,
                enabled: self.enabled,
                created_at: self.created_at,
                updated_at: self.updated_at,
            })
        }
    }

    fn field_names(t: &ValidHttpTool) -> Json<Vec<String>> {
        Json(
            t.member_fields
                .iter()
                .map(|f| f.as_str().to_owned())
                .collect(),
        )
    }

    fn audit_details(t: &ValidHttpTool) -> serde_json::Value {
        serde_json::json!({
            "name": t.name,
            "url": t.url,
            "method": t.method.as_str(),
            "member_fields": t.member_fields.iter().map(MemberField::as_str).collect::<Vec<_>>(),
            "enabled": t.enabled,
        })
    }

    async fn fetch_tool(
        tx: &mut Tx,
        scope: &Scope,
        gym: GymId,
        id: HttpToolId,
    ) -> StoreResult<HttpTool> {
        let mut qb =
            QueryBuilder::<Db>::new(format!("SELECT {TOOL_COLS} FROM http_tools WHERE id = "));
        qb.push_bind(db(id))
            .push(" AND gym_id = ")
            .push_bind(db(gym));
        push_scope(&mut qb, scope, "franchise_id", "gym_id");
        let row: Option<ToolRow> = qb
            .build_query_as()
            .fetch_optional(&mut **tx)
            .await
            .map_err(map_db_err)?;
        row.ok_or(StoreError::NotFound("http tool"))?.into_domain()
    }

    #[async_trait::async_trait]
    impl HttpToolStore for ThisStore {
        async fn create_http_tool(
            &self,
            scope: &Scope,
            actor: &Actor,
            gym: GymId,
            id: HttpToolId,
            tool: ValidHttpTool,
            sealed_secret: &str,
        ) -> StoreResult<HttpTool> {
            let mut tx = self.begin(&TxCtx::Scope(*scope), true).await?;
            let g = fetch_gym(&mut tx, scope, gym).await?;
            let t = DbTime::new(now());
            let details = audit_details(&tool);
            let mut qb = QueryBuilder::<Db>::new(format!(
                "INSERT INTO http_tools ({TOOL_COLS}, sealed_secret) VALUES ("
            ));
            let mut s = qb.separated(", ");
            s.push_bind(db(id))
                .push_bind(db(g.franchise_id))
                .push_bind(db(gym))
                .push_bind(tool.name.clone())
                .push_bind(tool.description.clone())
                .push_bind(Json(tool.parameters.clone()))
                .push_bind(tool.url.clone())
                .push_bind(tool.method.as_str())
                .push_bind(i32::try_from(tool.timeout_ms).unwrap_or(i32::MAX))
                .push_bind(field_names(&tool))
                .push_bind(tool.enabled)
                .push_bind(t)
                .push_bind(t)
                .push_bind(sealed_secret.to_string());
            qb.push(")");
            qb.build().execute(&mut *tx).await.map_err(map_db_err)?;
            audit_tx(
                &mut tx,
                actor,
                Some(g.franchise_id),
                Some(gym),
                "http_tool.create",
                "http_tool",
                Some(id.to_string()),
                details,
            )
            .await?;
            let out = fetch_tool(&mut tx, scope, gym, id).await?;
            tx.commit().await.map_err(map_db_err)?;
            Ok(out)
        }

        async fn update_http_tool(
            &self,
            scope: &Scope,
            actor: &Actor,
            gym: GymId,
            id: HttpToolId,
            tool: ValidHttpTool,
        ) -> StoreResult<HttpTool> {
            let mut tx = self.begin(&TxCtx::Scope(*scope), true).await?;
            let g = fetch_gym(&mut tx, scope, gym).await?;
            fetch_tool(&mut tx, scope, gym, id).await?;
            let details = audit_details(&tool);
            let mut qb = QueryBuilder::<Db>::new("UPDATE http_tools SET name = ");
            qb.push_bind(tool.name)
                .push(", description = ")
                .push_bind(tool.description)
                .push(", parameters = ")
                .push_bind(Json(tool.parameters))
                .push(", url = ")
                .push_bind(tool.url)
                .push(", method = ")
                .push_bind(tool.method.as_str())
                .push(", timeout_ms = ")
                .push_bind(i32::try_from(tool.timeout_ms).unwrap_or(i32::MAX))
                .push(", member_fields = ")
                .push_bind(Json(
                    tool.member_fields
                        .iter()
                        .map(|f| f.as_str().to_owned())
                        .collect::<Vec<_>>(),
                ))
                .push(", enabled = ")
                .push_bind(tool.enabled)
                .push(", updated_at = ")
                .push_bind(DbTime::new(now()))
                .push(" WHERE id = ")
                .push_bind(db(id))
                .push(" AND gym_id = ")
                .push_bind(db(gym));
            push_scope(&mut qb, scope, "franchise_id", "gym_id");
            qb.build().execute(&mut *tx).await.map_err(map_db_err)?;
            audit_tx(
                &mut tx,
                actor,
                Some(g.franchise_id),
                Some(gym),
                "http_tool.update",
                "http_tool",
                Some(id.to_string()),
                details,
            )
            .await?;
            let out = fetch_tool(&mut tx, scope, gym, id).await?;
            tx.commit().await.map_err(map_db_err)?;
            Ok(out)
        }

        async fn set_http_tool_secret(
            &self,
            scope: &Scope,
            actor: &Actor,
            gym: GymId,
            id: HttpToolId,
            sealed_secret: &str,
        ) -> StoreResult<HttpTool> {
            let mut tx = self.begin(&TxCtx::Scope(*scope), true).await?;
            let g = fetch_gym(&mut tx, scope, gym).await?;
            fetch_tool(&mut tx, scope, gym, id).await?;
            let mut qb = QueryBuilder::<Db>::new("UPDATE http_tools SET sealed_secret = ");
            qb.push_bind(sealed_secret.to_string())
                .push(", updated_at = ")
                .push_bind(DbTime::new(now()))
                .push(" WHERE id = ")
                .push_bind(db(id))
                .push(" AND gym_id = ")
                .push_bind(db(gym));
            push_scope(&mut qb, scope, "franchise_id", "gym_id");
            qb.build().execute(&mut *tx).await.map_err(map_db_err)?;
            audit_tx(
                &mut tx,
                actor,
                Some(g.franchise_id),
                Some(gym),
                "http_tool.rotate_secret",
                "http_tool",
                Some(id.to_string()),
                serde_json::json!({}),
            )
            .await?;
            let out = fetch_tool(&mut tx, scope, gym, id).await?;
            tx.commit().await.map_err(map_db_err)?;
            Ok(out)
        }

        async fn delete_http_tool(
            &self,
            scope: &Scope,
            actor: &Actor,
            gym: GymId,
            id: HttpToolId,
        ) -> StoreResult<()> {
            let mut tx = self.begin(&TxCtx::Scope(*scope), true).await?;
            let g = fetch_gym(&mut tx, scope, gym).await?;
            let before = fetch_tool(&mut tx, scope, gym, id).await?;
            let mut qb = QueryBuilder::<Db>::new("DELETE FROM http_tools WHERE id = ");
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
                "http_tool.delete",
                "http_tool",
                Some(id.to_string()),
                serde_json::json!({ "name": before.name }),
            )
            .await?;
            tx.commit().await.map_err(map_db_err)?;
            Ok(())
        }

        async fn list_http_tools(&self, scope: &Scope, gym: GymId) -> StoreResult<Vec<HttpTool>> {
            let mut tx = self.begin(&TxCtx::Scope(*scope), false).await?;
            fetch_gym(&mut tx, scope, gym).await?;
            let mut qb = QueryBuilder::<Db>::new(format!(
                "SELECT {TOOL_COLS} FROM http_tools WHERE gym_id = "
            ));
            qb.push_bind(db(gym));
            push_scope(&mut qb, scope, "franchise_id", "gym_id");
            qb.push(" ORDER BY name, id");
            let rows: Vec<ToolRow> = qb
                .build_query_as()
                .fetch_all(&mut *tx)
                .await
                .map_err(map_db_err)?;
            tx.commit().await.map_err(map_db_err)?;
            rows.into_iter().map(ToolRow::into_domain).collect()
        }

        async fn http_tool(
            &self,
            scope: &Scope,
            gym: GymId,
            id: HttpToolId,
        ) -> StoreResult<HttpTool> {
            let mut tx = self.begin(&TxCtx::Scope(*scope), false).await?;
            let t = fetch_tool(&mut tx, scope, gym, id).await?;
            tx.commit().await.map_err(map_db_err)?;
            Ok(t)
        }

        async fn http_tool_secret(
            &self,
            scope: &Scope,
            gym: GymId,
            id: HttpToolId,
        ) -> StoreResult<String> {
            let mut tx = self.begin(&TxCtx::Scope(*scope), false).await?;
            let mut qb =
                QueryBuilder::<Db>::new("SELECT sealed_secret FROM http_tools WHERE id = ");
            qb.push_bind(db(id))
                .push(" AND gym_id = ")
                .push_bind(db(gym));
            push_scope(&mut qb, scope, "franchise_id", "gym_id");
            let row: Option<(String,)> = qb
                .build_query_as()
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_db_err)?;
            tx.commit().await.map_err(map_db_err)?;
            row.map(|r| r.0).ok_or(StoreError::NotFound("http tool"))
        }
    }
}
