//! The admin's post editor: the dashboard's list of posts, and a post's
//! title and body at `/dashboard/posts/:slug`.
//!
//! A save purges what shows the post (hard: the next visitor waits for a
//! fresh render rather than seeing the old page once more), through the same
//! purger as `POST /api/revalidate`, then goes to the public page, which
//! shows the change at once.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;
use server_fn::codec::GetUrl;

use super::{Post, PostSummary, cache};
use crate::AppError;
use crate::app::auth::CurrentUser;
use crate::app::components::Loading;
use crate::app::dashboard::{self, save_error, signed_in};
use crate::app::query::{Call, Changed, Query, invalidate_after, tags_of};

/// Longest title, in characters.
pub const MAX_TITLE_CHARS: usize = 200;
/// Longest post body, in bytes.
pub const MAX_BODY_BYTES: usize = 100_000;

/// The newest posts, for the admin's list.
#[server(endpoint = "blog/posts_for_admin", input = GetUrl)]
pub async fn posts_for_admin() -> Result<Vec<PostSummary>, AppError> {
    dashboard::require_admin().await?;
    super::db::latest_posts(&crate::state::AppState::current().db, 10).await
}

/// The post at `slug`, for its editor.
#[server(endpoint = "dashboard/get_post_for_edit", input = GetUrl)]
pub async fn get_post_for_edit(slug: String) -> Result<Post, AppError> {
    dashboard::require_admin().await?;
    let db = crate::state::AppState::current().db;
    super::db::find_post(&db, &slug).await?.ok_or(AppError::NotFound)
}

/// Saves a post's title and body, purges what shows it, opens the post.
#[server(endpoint = "dashboard/update_post")]
pub async fn update_post(slug: String, title: String, body: String) -> Result<Changed, AppError> {
    let user = dashboard::require_admin().await?;
    let title = title.trim();
    let body = body.trim();
    if title.is_empty() || title.chars().count() > MAX_TITLE_CHARS {
        return Err(AppError::BadRequest(format!(
            "The title must have 1 to {MAX_TITLE_CHARS} characters."
        )));
    }
    if body.is_empty() || body.len() > MAX_BODY_BYTES {
        return Err(AppError::BadRequest(format!(
            "The body must have 1 to {MAX_BODY_BYTES} bytes."
        )));
    }
    let state = crate::state::AppState::current();
    if !super::db::update_post(&state.db, &slug, title, body).await? {
        return Err(AppError::NotFound);
    }
    // The post itself, every list that shows its title, search results.
    let tags = cache::tags::post(&slug)
        .into_iter()
        .chain([cache::tags::posts(), crate::app::search::cache::tags::results()]);
    let changed = state.purger.changed(&format!("editor (user {})", user.id), tags, &[]).await;
    leptos_axum::redirect(&format!("/blog/{slug}"));
    Ok(changed)
}

/// The admin's list of posts, tagged like the lists they come from.
pub fn posts_for_admin_query() -> Query<(), Vec<PostSummary>> {
    Query::new(|()| Call::Get(PostsForAdmin {}), dashboard::CLIENT)
        .tagged(|()| tags_of(cache::posts()))
}

/// Posts as the editor loads them, tagged like their public page.
pub fn post_for_edit_query() -> Query<String, Post> {
    Query::new(|slug| Call::Get(GetPostForEdit { slug }), dashboard::CLIENT)
        .tagged(|slug| tags_of(cache::post(slug)))
}

/// The dashboard's section, for admins: every post, with a link to edit it.
pub fn posts_section(user: CurrentUser) -> AnyView {
    let note = "Saving a change purges the pages that show it from the cache.";
    dashboard::admin_list(&user, "Posts", Some(note), posts_for_admin_query(), |post| {
        view! {
            <li>
                <span>{post.title}</span>
                <A href=format!("/dashboard/posts/{}", post.slug) attr:class="button secondary small">"Edit"</A>
            </li>
        }
        .into_any()
    })
}

/// `/dashboard/posts/:slug`.
#[component]
pub fn PostEditorPage() -> impl IntoView {
    let params = use_params_map();
    let post =
        post_for_edit_query().resource(move || params.read().get("slug").unwrap_or_default());
    view! {
        <Title text="Edit post" />
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                signed_in(post.await.result, |post| view! { <PostForm post /> }.into_any())
            })}
        </Suspense>
    }
}

#[component]
fn PostForm(post: Post) -> impl IntoView {
    let save = ServerAction::<UpdatePost>::new();
    invalidate_after(save);
    view! {
        <section class="card editor">
            <p class="meta"><A href="/dashboard">"← Dashboard"</A></p>
            <h1>"Edit post"</h1>
            <ActionForm action=save attr:class="stack">
                <input type="hidden" name="slug" value=post.slug.clone() />
                <label>"Title" <input type="text" name="title" value=post.title required maxlength=MAX_TITLE_CHARS /></label>
                <label>"Body" <textarea name="body" rows="16" required>{post.body}</textarea></label>
                {save_error(save.value())}
                <button type="submit" class="button" disabled=move || save.pending().get()>"Save and view"</button>
            </ActionForm>
        </section>
    }
}
