"""Write the demo data bundled in ``engagebot/demo_data/`` (run once; the output is committed).

A fictional airline, Skylark Air, with a small CRM (customers, bookings, platform handles) and
a few hundred posts in each platform's real API shape: X API v2 search and mentions pages
(``data``/``includes.users``/``meta``), a Reddit Listing, an App Store customer-reviews feed
and Google Play review dicts. Every text is written here (no third-party data is shipped).

Deterministic: ``python scripts/make_demo_data.py`` always writes the same files.
"""

from __future__ import annotations

import csv
import hashlib
import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parents[1] / "engagebot" / "demo_data"
END = datetime(2026, 11, 22, 18, 0, tzinfo=UTC)  # the recorded data's last moment
WEEKS = 12
BRAND_X = {"id": "1580000000000000001", "username": "SkylarkAir", "name": "Skylark Air"}
BRAND_X_HELP = {"id": "1580000000000000002", "username": "SkylarkHelp", "name": "Skylark Air Support"}
BRAND_REDDIT = "Skylark_Support"
APP_ID = "1488000001"

rng = random.Random(20261122)

FIRST = [
    "Maya",
    "Liam",
    "Sofia",
    "Noah",
    "Amara",
    "Ethan",
    "Chloe",
    "Lucas",
    "Priya",
    "Mateo",
    "Hannah",
    "Omar",
    "Grace",
    "Daniel",
    "Aisha",
    "Jonas",
    "Elena",
    "Kenji",
    "Zoe",
    "Marcus",
    "Leila",
    "Tom",
    "Ingrid",
    "Diego",
    "Fatima",
    "Oliver",
    "Nina",
    "Samuel",
    "Yara",
    "Victor",
    "Claire",
    "Ravi",
    "Mei",
    "Hugo",
    "Ana",
    "Felix",
    "Rosa",
    "Arjun",
    "Lena",
    "Isaac",
]
LAST = [
    "Okafor",
    "Brennan",
    "Rossi",
    "Kim",
    "Haddad",
    "Novak",
    "Silva",
    "Dubois",
    "Patel",
    "Garcia",
    "Schmidt",
    "Nakamura",
    "Walsh",
    "Andersen",
    "Costa",
    "Moreau",
    "Singh",
    "Lindqvist",
    "Mendes",
    "Ibrahim",
    "Fischer",
    "Murphy",
    "Alvarez",
    "Chen",
    "Kowalski",
]
CITIES = [
    "Denver",
    "Boston",
    "Seattle",
    "Austin",
    "Chicago",
    "Atlanta",
    "Phoenix",
    "Portland",
    "Miami",
    "Newark",
    "San Diego",
    "Nashville",
]

NEGATIVE = [
    "@{brand} flight {flight} to {city} delayed {hours} hours and nobody at the gate can tell us why. This is ridiculous.",
    "@{brand} you lost my bag AGAIN. Third time this year. I have a meeting in {city} tomorrow and no suit. 😡",
    "Stuck on the tarmac for {hours} hours on {flight}, no water, no updates. Never flying @{brand} again.",
    "@{brand} cancelled my flight to {city} with a text at 2am and rebooked me two days later. Unacceptable.",
    "Been on hold with @{brand} for {mins} minutes just to change a seat. Your customer service is a joke.",
    "@{brand} charged me twice for the same booking and the refund form just errors out. Fix this.",
    "Worst experience ever with @{brand}. Missed my connection in {city} because of your delay and you won't pay for a hotel.",
    "@{brand} the app crashed during check-in and now I'm charged a $25 airport check-in fee. Seriously?",
    "@{brand} my elderly mother waited {mins} minutes for the wheelchair assistance she booked. Shameful.",
    "Gold member for 6 years and @{brand} still bumped me off an overbooked flight. Loyalty means nothing to you.",
    "@{brand} broken seat, broken tray table, dirty cabin on {flight}. What am I paying for?",
    "Refund still not processed after {weeks} weeks, @{brand}. I want my money back.",
    "@{brand} your agent in {city} was incredibly rude to my family. We will be filing a complaint.",
    "Delayed again. @{brand} has been late on every single flight I've taken this month. Switching airlines.",
    "@{brand} my bag arrived in {city} soaked and the handle ripped off. Claim denied. Terrible.",
    "The new @{brand} app update logs me out every time and I lost my boarding pass at security. Awful.",
    "@{brand} no vegetarian meal even though I ordered it weeks ago. Hungry for a {hours} hour flight.",
    "Why does @{brand} keep changing my flight times without asking? Now I miss my daughter's recital.",
]
NEUTRAL = [
    "@{brand} what is the carry-on size limit for basic economy?",
    "@{brand} does flight {flight} to {city} have wifi?",
    "Flying @{brand} to {city} tomorrow morning. Anyone know if the lounge in terminal B is open early?",
    "@{brand} can I add a checked bag after booking through a travel agent?",
    "@{brand} is there a way to change the name on a ticket for a family member?",
    "Heading to {city} on {flight} with @{brand} today.",
    "@{brand} when do the winter schedules to {city} get published?",
    "@{brand} how early should I arrive for an international flight from {city}?",
    "Booked @{brand} for the holidays. We'll see how it goes.",
    "@{brand} do you allow pets in the cabin on regional jets?",
]
POSITIVE = [
    "@{brand} shoutout to the crew on {flight} to {city}, so kind to my kids. Great flight! 🙌",
    "Landed early in {city}! Smooth flight and friendly staff, thanks @{brand}.",
    "@{brand} thank you for rebooking me so fast after the storm. Really appreciate it.",
    "The new @{brand} seats are actually comfortable. Nice upgrade.",
    "@{brand} the agent in {city} found my lost phone and had it waiting for me. Amazing service ❤️",
    "Best on-time record I've had all year, @{brand}. Keep it up!",
    "@{brand} loved the free snacks and the fast wifi on {flight}.",
    "Quick refund, no hassle. Thanks @{brand}!",
]
FOREIGN = [
    ("es", "@{brand} mi vuelo a {city} lleva {hours} horas de retraso y nadie nos informa. Pésimo servicio."),
    ("de", "@{brand} mein Koffer ist seit drei Tagen verschwunden und niemand antwortet. Katastrophe."),
    ("fr", "@{brand} vol annulé sans explication, je suis bloqué à {city}. Inadmissible."),
    ("pt", "@{brand} adorei o voo, tripulação muito simpática! Obrigada."),
    ("es", "@{brand} gracias por el excelente servicio en el vuelo {flight}."),
]
HOSTILE = [
    "@{brand} <script>alert('boarding pass')</script> your site shows this & won't let me check in for {flight} 😤",
    "@{brand} my booking page shows ‏مرحبا‎ and ✈️ gibberish & the refund button does nothing. Delayed {hours}h too.",
]
REDDIT_NEG = [
    (
        "Skylark Air lost my luggage and the claim process is a nightmare",
        "Flew Skylark from {city} last week. Bag never showed up. The online claim form times out and the phone line hangs up after {mins} minutes. Anyone had luck getting compensation?",
    ),
    (
        "Avoid Skylark Air's basic economy",
        "They charged me $60 at the gate for a bag that fit the sizer. The agent refused to even measure it. Never again.",
    ),
    (
        "Skylark cancelled my flight and won't refund",
        "Flight to {city} was cancelled by the airline and they only offer a voucher that expires in 3 months. Isn't a refund required?",
    ),
]
REDDIT_NEU = [
    (
        "Skylark Air vs other budget carriers for {city}?",
        "Planning a trip to {city} in March. How is Skylark's legroom compared to the others?",
    ),
    (
        "Does Skylark Air's status match still exist?",
        "I have gold on another airline, wondering if Skylark still does status matches.",
    ),
]
REDDIT_POS = [
    (
        "Pleasantly surprised by Skylark Air",
        "Crew was great, flight to {city} was on time and the seats were fine. Would fly again.",
    ),
]
REDDIT_COMMENT_NEG = [
    "Same thing happened to me on Skylark, took {weeks} weeks and three emails to get anything back.",
    "Skylark's customer service is honestly the worst I've dealt with.",
    "Their app is broken half the time, I just use the website now and it's still bad.",
]
REDDIT_COMMENT_NEU = [
    "Did you try filing with the DOT?",
    "What route was this on?",
    "I think the policy changed last year.",
]
APP_NEG = [
    ("Crashes at check-in", "The app crashes every time I try to check in. Had to pay for airport check-in. Fix it!"),
    ("Logged out constantly", "Every update logs me out and resets my saved passport details. Very frustrating."),
    ("Boarding pass disappeared", "My boarding pass vanished from the app at security. Embarrassing and stressful."),
    ("Refund button broken", "Tapping refund does nothing. Support says use the app. Going in circles."),
]
APP_NEU = [
    ("OK app", "Does what it needs to. Seat map could be clearer."),
    ("Fine", "Works most of the time. Would like dark mode."),
]
APP_POS = [
    ("Great app", "Fast check-in, boarding pass in wallet, flight updates are accurate. Love it."),
    ("Much improved", "The latest version is quick and the rebooking flow is easy."),
]


def fill(template: str, brand: str = "SkylarkAir") -> str:
    return template.format(
        brand=brand,
        city=rng.choice(CITIES),
        flight=f"SK{rng.randint(100, 989)}",
        hours=rng.randint(2, 7),
        mins=rng.choice([45, 70, 95, 120, 150]),
        weeks=rng.randint(3, 9),
    )


def when(recent: bool) -> datetime:
    """A post time: most in the last week, the rest spread over the trend weeks."""
    if recent:
        return END - timedelta(minutes=rng.randint(20, 7 * 24 * 60))
    return END - timedelta(days=rng.uniform(7, WEEKS * 7))


def snowflake(ts: datetime) -> str:
    """An X-like id that grows with time (X ids are time-ordered)."""
    ms = int(ts.timestamp() * 1000) - 1288834974657
    return str((ms << 22) + rng.randint(0, 4_000_000))


def iso_x(ts: datetime) -> str:
    return ts.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def make_customers() -> list[dict[str, Any]]:
    customers: list[dict[str, Any]] = []
    used: set[str] = set()
    for i in range(60):
        while True:
            first, last = rng.choice(FIRST), rng.choice(LAST)
            if (first, last) not in used:
                used.add((first, last))  # type: ignore[arg-type]
                break
        segment = rng.choices(["gold", "silver", "standard", "corporate"], [8, 14, 30, 8])[0]
        handle = f"{first.lower()}{rng.choice(['', '_', '.'])}{last.lower()}{rng.randint(1, 99) if rng.random() < 0.4 else ''}"
        handle = handle.replace(".", "_")[:15]
        customers.append(
            {
                "crm_id": f"C{10001 + i}",
                "first": first,
                "name": f"{first} {last}",
                "email": f"{first}.{last}{i}@example.com".lower(),
                "segment": segment,
                "handle": handle,
                "x_user_id": str(1200000000000000000 + rng.randint(1, 10**15)),
                "on_x": rng.random() < 0.8,
                "on_reddit": rng.random() < 0.25,
                "on_appstore": rng.random() < 0.3,
                "followers": int(rng.lognormvariate(5.5, 1.6)),
            }
        )
    # A couple of customers with a real audience: their complaints cost more than their bookings.
    customers[3]["followers"], customers[17]["followers"] = 184_000, 52_300
    return customers


def make_transactions(customers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    spend = {"gold": 900.0, "corporate": 1300.0, "silver": 450.0, "standard": 220.0}
    rate = {"gold": 10.0, "corporate": 12.0, "silver": 5.0, "standard": 2.0}
    for c in customers:
        start = END - timedelta(days=rng.randint(200, 720))
        lifetime_end = END if rng.random() < 0.75 else start + timedelta(days=rng.randint(60, 400))
        t, n = start, 0
        while t < min(lifetime_end, END) and n < 40:
            amount = max(39.0, rng.gammavariate(4.0, spend[c["segment"]] / 4.0))
            rows.append({"customer_id": c["crm_id"], "date": t.date().isoformat(), "amount": f"{amount:.2f}"})
            t += timedelta(days=rng.expovariate(rate[c["segment"]] / 365.0))
            n += 1
    return rows


def x_user(user_id: str, username: str, name: str, followers: int, verified: bool = False) -> dict[str, Any]:
    return {
        "id": user_id,
        "name": name,
        "username": username,
        "verified": verified,
        "public_metrics": {
            "followers_count": followers,
            "following_count": rng.randint(50, 900),
            "tweet_count": rng.randint(100, 30000),
            "listed_count": rng.randint(0, 40),
        },
    }


def x_tweet(
    tid: str,
    text: str,
    author_id: str,
    ts: datetime,
    lang: str = "en",
    conversation_id: str | None = None,
    reply_to: tuple[str, str] | None = None,
    likes: int = 0,
) -> dict[str, Any]:
    tweet: dict[str, Any] = {
        "id": tid,
        "text": text,
        "author_id": author_id,
        "created_at": iso_x(ts),
        "lang": lang,
        "conversation_id": conversation_id or tid,
        "edit_history_tweet_ids": [tid],
        "public_metrics": {
            "retweet_count": likes // 6,
            "reply_count": rng.randint(0, 4),
            "like_count": likes,
            "quote_count": likes // 15,
            "bookmark_count": 0,
            "impression_count": likes * 40 + 100,
        },
    }
    if reply_to:
        tweet["referenced_tweets"] = [{"type": "replied_to", "id": reply_to[0]}]
        tweet["in_reply_to_user_id"] = reply_to[1]
    return tweet


def pick_text(kind: str) -> tuple[str, str]:
    if kind == "negative":
        return "en", fill(rng.choice(NEGATIVE))
    if kind == "neutral":
        return "en", fill(rng.choice(NEUTRAL))
    if kind == "positive":
        return "en", fill(rng.choice(POSITIVE))
    if kind == "foreign":
        lang, template = rng.choice(FOREIGN)
        return lang, fill(template)
    return "en", fill(rng.choice(HOSTILE))


def make_x(customers: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Tweets (with brand replies in some threads) split into a search and a mentions set."""
    users: dict[str, dict[str, Any]] = {}
    for brand in (BRAND_X, BRAND_X_HELP):
        users[brand["id"]] = x_user(brand["id"], brand["username"], brand["name"], 412_000, verified=True)
    strangers = []
    for _ in range(110):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        uid = str(1300000000000000000 + rng.randint(1, 10**15))
        uname = f"{first[:3].lower()}{last.lower()}{rng.randint(10, 9999)}"[:15]
        followers = int(rng.lognormvariate(5.0, 1.8))
        users[uid] = x_user(uid, uname, f"{first} {last[0]}.", followers)
        strangers.append(uid)
    on_x = [c for c in customers if c["on_x"]]
    for c in on_x:
        users[c["x_user_id"]] = x_user(c["x_user_id"], c["handle"], c["name"], c["followers"])

    tweets: list[dict[str, Any]] = []
    brand_replies: list[dict[str, Any]] = []
    kinds = ["negative"] * 46 + ["neutral"] * 26 + ["positive"] * 22 + ["foreign"] * 4 + ["hostile"] * 2
    for i in range(190):
        is_customer = rng.random() < 0.45
        author = rng.choice(on_x)["x_user_id"] if is_customer else rng.choice(strangers)
        kind = rng.choice(kinds)
        if i < 12:  # make sure the valuable customers with an audience complain this week
            author, kind = on_x[i % len(on_x)]["x_user_id"], "negative"
        lang, text = pick_text(kind)
        if rng.random() < 0.35:  # some people name the brand instead of tagging it: search finds those
            text = text.replace("@SkylarkAir", "Skylark Air")
        ts = when(recent=rng.random() < 0.55 or i < 12)
        tid = snowflake(ts)
        followers = users[author]["public_metrics"]["followers_count"]
        tweets.append(x_tweet(tid, text, author, ts, lang, likes=min(5000, int(followers * rng.uniform(0.0, 0.02)))))
        # The brand already answered some complaints natively: those must never reach the queue.
        if kind in ("negative", "neutral") and i >= 12 and rng.random() < 0.3:
            rts = ts + timedelta(minutes=rng.randint(5, 240))
            if rts < END:
                brand = rng.choice([BRAND_X, BRAND_X_HELP])
                first = users[author]["name"].split()[0]
                reply = f"@{users[author]['username']} Hi {first}, we're sorry about this. Please DM us your booking reference and we'll sort it out."
                brand_replies.append(
                    x_tweet(snowflake(rts), reply, brand["id"], rts, conversation_id=tid, reply_to=(tid, author))
                )
    tweets += german_tweets(on_x)
    everything = tweets + brand_replies
    everything.sort(key=lambda t: int(t["id"]), reverse=True)  # the API returns newest first
    search = [
        t for t in everything if "@SkylarkAir" not in t["text"] or t["author_id"] in (BRAND_X["id"], BRAND_X_HELP["id"])
    ]
    mentions = [t for t in everything if t not in search]
    return (
        [x_page(search[i : i + 100], users) for i in range(0, len(search), 100)],
        [x_page(mentions[i : i + 100], users) for i in range(0, len(mentions), 100)],
    )


# German posts by Skylark Air's own customers (the brands engagebot is for hear German first).
# (hours before END, text): three complaints, a question and a thank-you, all this week.
GERMAN = [
    (
        5,
        "@SkylarkAir Mein Flug nach Berlin wurde ohne jede Erklärung gestrichen und an der Hotline geht seit zwei Stunden niemand ran. Unfassbar schlechter Service!",
    ),
    (
        19,
        "@SkylarkAir Zum zweiten Mal in diesem Monat ist mein Koffer nicht angekommen. Ich fliege jede Woche mit euch und so langsam reicht es mir wirklich.",
    ),
    (
        31,
        "Skylark Air hat mir die Erstattung für den annullierten Flug immer noch nicht überwiesen, obwohl sie vor sechs Wochen versprochen wurde. Sehr enttäuschend.",
    ),
    (44, "@SkylarkAir Ab wann ist der Check-in-Schalter in Frankfurt morgen früh geöffnet?"),
    (60, "@SkylarkAir Vielen Dank an die Crew von SK412, super freundlich und sogar pünktlich gelandet!"),
]


def german_tweets(on_x: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The German posts, by customers with the most valuable segments, from their own RNG.

    A separate, seeded RNG leaves every other generated record exactly as it was before these
    posts were added.
    """
    de_rng = random.Random(20261206)
    shared_state = rng.getstate()  # x_tweet draws from the shared RNG: put it back afterwards
    rank = {"corporate": 0, "gold": 1, "silver": 2, "standard": 3}
    authors = sorted(on_x, key=lambda c: (rank[c["segment"]], c["crm_id"]))[12 : 12 + len(GERMAN)]
    tweets = []
    for (hours, text), author in zip(GERMAN, authors, strict=True):
        ts = END - timedelta(hours=hours, minutes=de_rng.randint(0, 50))
        ms = int(ts.timestamp() * 1000) - 1288834974657
        tid = str((ms << 22) + de_rng.randint(0, 4_000_000))
        tweets.append(x_tweet(tid, text, author["x_user_id"], ts, "de", likes=de_rng.randint(0, 40)))
    rng.setstate(shared_state)
    return tweets


def x_page(tweets: list[dict[str, Any]], users: dict[str, dict[str, Any]]) -> dict[str, Any]:
    authors = {t["author_id"] for t in tweets}
    return {
        "data": tweets,
        "includes": {"users": [users[a] for a in sorted(authors)]},
        "meta": {"newest_id": tweets[0]["id"], "oldest_id": tweets[-1]["id"], "result_count": len(tweets)},
    }


def reddit_thing(kind: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"kind": kind, "data": data}


def make_reddit(customers: list[dict[str, Any]]) -> dict[str, Any]:
    children: list[dict[str, Any]] = []
    redditors = [c for c in customers if c["on_reddit"]]
    strangers = [
        f"{rng.choice(FIRST).lower()}_{rng.choice(['flies', 'travels', 'pdx', 'atl', 'nomad'])}{rng.randint(1, 999)}"
        for _ in range(25)
    ]
    posts = (
        [(t, "negative") for t in REDDIT_NEG] * 3
        + [(t, "neutral") for t in REDDIT_NEU] * 2
        + [(t, "positive") for t in REDDIT_POS] * 2
    )
    for n, ((title, body), _kind) in enumerate(posts):
        author = rng.choice(redditors)["handle"] if redditors and rng.random() < 0.4 else rng.choice(strangers)
        ts = when(recent=rng.random() < 0.6)
        sid = f"1h{rng.randint(10000, 99999):x}{n}"
        sub = rng.choice(["travel", "flying", "Skylark"])
        children.append(
            reddit_thing(
                "t3",
                {
                    "id": sid,
                    "name": f"t3_{sid}",
                    "title": fill(title),
                    "selftext": fill(body),
                    "author": author,
                    "author_fullname": "t2_" + hashlib.sha1(author.encode()).hexdigest()[:8],
                    "subreddit": sub,
                    "subreddit_name_prefixed": f"r/{sub}",
                    "created_utc": ts.timestamp(),
                    "permalink": f"/r/{sub}/comments/{sid}/x/",
                    "url": f"https://www.reddit.com/r/{sub}/comments/{sid}/x/",
                    "score": rng.randint(1, 400),
                    "num_comments": rng.randint(0, 60),
                    "ups": rng.randint(1, 400),
                    "is_self": True,
                    "over_18": False,
                },
            )
        )
        for k in range(rng.randint(0, 2)):
            cts = ts + timedelta(minutes=rng.randint(10, 600))
            if cts >= END:
                continue
            cid = f"k{rng.randint(100000, 999999):x}{k}"
            neg = rng.random() < 0.6
            body_c = fill(rng.choice(REDDIT_COMMENT_NEG if neg else REDDIT_COMMENT_NEU))
            children.append(
                reddit_thing(
                    "t1",
                    {
                        "id": cid,
                        "name": f"t1_{cid}",
                        "body": body_c,
                        "author": rng.choice(strangers),
                        "link_id": f"t3_{sid}",
                        "parent_id": f"t3_{sid}",
                        "subreddit": sub,
                        "created_utc": cts.timestamp(),
                        "permalink": f"/r/{sub}/comments/{sid}/x/{cid}/",
                        "score": rng.randint(1, 80),
                        "ups": rng.randint(1, 80),
                    },
                )
            )
        if _kind == "negative" and rng.random() < 0.35:
            rts = ts + timedelta(minutes=rng.randint(30, 300))
            if rts < END:
                cid = f"b{rng.randint(100000, 999999):x}"
                children.append(
                    reddit_thing(
                        "t1",
                        {
                            "id": cid,
                            "name": f"t1_{cid}",
                            "author": BRAND_REDDIT,
                            "link_id": f"t3_{sid}",
                            "parent_id": f"t3_{sid}",
                            "body": "Hi, this is Skylark Air support. We're sorry to hear this. Please send us a modmail with your booking reference and we'll look into it today.",
                            "subreddit": sub,
                            "created_utc": rts.timestamp(),
                            "permalink": f"/r/{sub}/comments/{sid}/x/{cid}/",
                            "score": 3,
                            "ups": 3,
                        },
                    )
                )
    children.sort(key=lambda c: c["data"]["created_utc"], reverse=True)
    return {
        "kind": "Listing",
        "data": {"after": None, "dist": len(children), "modhash": "", "children": children, "before": None},
    }


def label(value: str) -> dict[str, str]:
    return {"label": value}


def make_appstore(customers: list[dict[str, Any]]) -> dict[str, Any]:
    entries = []
    users = [c for c in customers if c["on_appstore"]]
    pool = [(t, 1) for t in APP_NEG] * 4 + [(t, 3) for t in APP_NEU] * 3 + [(t, 5) for t in APP_POS] * 4
    for i, ((title, body), stars) in enumerate(pool):
        ts = when(recent=rng.random() < 0.5)
        rating = max(
            1,
            min(
                5,
                stars + rng.choice([0, 0, 1]) if stars == 1 else stars - rng.choice([0, 0, 1]) if stars == 5 else stars,
            ),
        )
        name = (
            rng.choice(users)["handle"]
            if users and rng.random() < 0.35
            else f"{rng.choice(FIRST)}{rng.randint(10, 99)}"
        )
        author_id = 1349000000 + rng.randint(1, 999999)
        entries.append(
            {
                "author": {
                    "uri": label(f"https://itunes.apple.com/us/reviews/id{author_id}"),
                    "name": label(name),
                    "label": "",
                },
                "updated": label((ts.astimezone(UTC) - timedelta(hours=7)).strftime("%Y-%m-%dT%H:%M:%S-07:00")),
                "im:rating": label(str(rating)),
                "im:version": label(f"2026.{rng.randint(8, 11)}.{rng.randint(0, 3)}"),
                "id": label(str(11900000000 + i * 7919)),
                "title": label(title),
                "content": {"label": body, "attributes": {"type": "text"}},
                "link": {
                    "attributes": {
                        "rel": "related",
                        "href": f"https://itunes.apple.com/us/review?id={APP_ID}&type=Purple%20Software",
                    }
                },
                "im:voteSum": label("0"),
                "im:voteCount": label(str(rng.randint(0, 9))),
                "im:contentType": {"attributes": {"term": "Application", "label": "Application"}},
            }
        )
    entries.sort(key=lambda e: e["updated"]["label"], reverse=True)
    return {
        "feed": {
            "author": {"name": label("iTunes Store"), "uri": label("http://www.apple.com/itunes/")},
            "entry": entries,
            "updated": label(END.strftime("%Y-%m-%dT%H:%M:%S-07:00")),
            "icon": label("http://itunes.apple.com/favicon.ico"),
            "title": label("iTunes Store: Customer Reviews"),
            "id": label(f"https://itunes.apple.com/us/rss/customerreviews/page=1/id={APP_ID}/sortby=mostrecent/json"),
            "link": [
                {
                    "attributes": {
                        "rel": "alternate",
                        "type": "text/html",
                        "href": f"https://apps.apple.com/us/app/id{APP_ID}",
                    }
                },
                {
                    "attributes": {
                        "rel": "self",
                        "href": f"https://itunes.apple.com/us/rss/customerreviews/page=1/id={APP_ID}/sortby=mostrecent/json",
                    }
                },
            ],
        }
    }


def make_googleplay() -> list[dict[str, Any]]:
    reviews = []
    pool = [(b, 1) for _t, b in APP_NEG] * 2 + [(b, 3) for _t, b in APP_NEU] + [(b, 5) for _t, b in APP_POS] * 2
    for i, (body, stars) in enumerate(pool):
        ts = when(recent=rng.random() < 0.5)
        replied = stars <= 2 and rng.random() < 0.3
        reviews.append(
            {
                "reviewId": f"gp:AOqpTOH{rng.randint(10**9, 10**10 - 1)}{i}",
                "userName": f"{rng.choice(FIRST)} {rng.choice(LAST)}",
                "userImage": "https://play-lh.googleusercontent.com/a/default-user",
                "content": body,
                "score": stars,
                "thumbsUpCount": rng.randint(0, 30),
                "reviewCreatedVersion": f"2026.{rng.randint(8, 11)}.0",
                # google-play-scraper returns naive datetimes in the host's local time; this host ran in UTC.
                "at": ts.replace(tzinfo=None).isoformat(timespec="seconds"),
                "replyContent": "Sorry about this! Please update to the latest version and contact help@skylark.example."
                if replied
                else None,
                "repliedAt": (ts + timedelta(hours=5)).replace(tzinfo=None).isoformat(timespec="seconds")
                if replied
                else None,
                "appVersion": f"2026.{rng.randint(8, 11)}.0",
            }
        )
    return reviews


BRAND_FB_PAGE = {"id": "100064512345678", "name": "Skylark Air"}
BRAND_IG = "skylarkair"
BRAND_FB_POST = "100064512345678_880001122334455"


def ago(hours: float) -> datetime:
    """A fixed time before the recorded data's end (the new channels use no random draws, so
    adding them left every earlier file as it was)."""
    return END - timedelta(hours=hours)


def graph_time(ts: datetime) -> str:
    return ts.strftime("%Y-%m-%dT%H:%M:%S+0000")  # Graph's "+0000", not "Z"


def fb_comment(
    n: int,
    who: tuple[str, str],
    text: str,
    hours: float,
    replies: list[dict[str, Any]] | None = None,
    parent: str | None = None,
) -> dict[str, Any]:
    post_obj = BRAND_FB_POST.split("_")[1]
    comment_id = f"{post_obj}_{7700000000 + n}"
    url = f"https://www.facebook.com/{BRAND_FB_PAGE['id']}/posts/{post_obj}/?comment_id="
    url += f"{parent.split('_')[1]}&reply_comment_id={7700000000 + n}" if parent else f"{7700000000 + n}"
    item: dict[str, Any] = {
        "id": comment_id,
        "message": text,
        "created_time": graph_time(ago(hours)),
        "from": {"id": who[0], "name": who[1]},
        "permalink_url": url,
        "like_count": n % 4,
        "comment_count": len(replies or []),
    }
    if parent:
        item["parent"] = {"id": parent}
    if replies:
        item["comments"] = {"data": replies, "paging": {"cursors": {"before": "QVFI", "after": "QVFJ"}}}
    return item


def make_facebook() -> dict[str, Any]:
    """A /feed page of the Skylark Air Page with comments and replies asked as fields: the Page's
    post, customers' comments (one answered by the Page in its thread) and a visitor's post."""
    page = (BRAND_FB_PAGE["id"], BRAND_FB_PAGE["name"])
    post_obj = BRAND_FB_POST.split("_")[1]
    answered_top = f"{post_obj}_{7700000002}"
    comments = [
        fb_comment(
            1,
            ("100010000000101", "Maya Okafor"),
            "My bag never arrived in Lisbon on SK482. Four days, three calls, no answer. Where is it?",
            30,
        ),
        fb_comment(
            2,
            ("100010000000102", "Lucas Moreau"),
            "The new app keeps logging me out before boarding, had to queue at the desk for a paper pass.",
            52,
            replies=[
                fb_comment(
                    3,
                    page,
                    "Sorry Lucas! Version 2026.11.2 fixes the log-out: please update, and DM us if it happens again.",
                    49,
                    parent=answered_top,
                )
            ],
        ),
        fb_comment(4, ("100010000000103", "Ingrid Larsen"), "Winter sun, here I come. Booked Faro for January!", 20),
        fb_comment(
            5,
            ("100010000000104", "Diego Ramos"),
            "Flight cancelled with 2 hours notice and the rebooking link gives an error. Terrible.",
            6,
        ),
    ]
    return {
        "data": [
            {
                "id": f"{page[0]}_880001122339999",
                "message": "Skylark Air charged me twice for the same booking (ref SKQ7Z2) and the refund form "
                "just loops. Please fix this.",
                "created_time": graph_time(ago(11)),
                "updated_time": graph_time(ago(11)),
                "from": {"id": "100010000000105", "name": "Hannah Schulz"},
                "permalink_url": f"https://www.facebook.com/{page[0]}/posts/880001122339999",
                "status_type": "wall_post",
            },
            {
                "id": BRAND_FB_POST,
                "message": "Our winter schedule is live: 14 new sunny routes from December. Where are you flying?",
                "created_time": graph_time(ago(80)),
                "updated_time": graph_time(ago(6)),
                "from": {"id": page[0], "name": page[1]},
                "permalink_url": f"https://www.facebook.com/{page[0]}/posts/{post_obj}",
                "status_type": "added_photos",
                "shares": {"count": 41},
                "comments": {"data": comments, "paging": {"cursors": {"before": "QVFI", "after": "QVFJ"}}},
            },
        ],
        "paging": {"cursors": {"before": "QVFIUm", "after": "QVFIUn"}},
    }


def ig_comment(
    n: int,
    username: str,
    text: str,
    hours: float,
    replies: list[dict[str, Any]] | None = None,
    parent: str | None = None,
) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": str(17990000000000000 + n),
        "text": text,
        "timestamp": graph_time(ago(hours)),
        "username": username,
        "like_count": n % 3,
    }
    if parent:
        item["parent_id"] = parent
    if replies:
        item["replies"] = {"data": replies}
    return item


def make_instagram() -> dict[str, Any]:
    """A /media page of the @skylarkair business account with comments and replies asked as fields."""
    comments = [
        ig_comment(
            1,
            "priya.travels",
            "@skylarkair still waiting for the refund of my cancelled Porto flight, "
            "six weeks now and the chat just closes on me",
            9,
        ),
        ig_comment(
            2,
            "omar_k",
            "Booked seats together for my family and you split us over 4 rows. Not okay.",
            28,
            replies=[
                ig_comment(
                    3,
                    BRAND_IG,
                    "@omar_k we're sorry, please DM us your booking reference and we'll sort it out before you fly.",
                    26,
                    parent=str(17990000000000002),
                )
            ],
        ),
        ig_comment(4, "zoe.wanders", "That cabin looks gorgeous 😍", 40),
    ]
    return {
        "data": [
            {
                "id": "17895731045200001",
                "caption": "New cabins, same smile. Meet our refreshed A321neo interiors ✈️",
                "media_type": "CAROUSEL_ALBUM",
                "timestamp": graph_time(ago(60)),
                "username": BRAND_IG,
                "permalink": "https://www.instagram.com/p/DSkylark01/",
                "comments_count": 4,
                "like_count": 812,
                "comments": {"data": comments},
            }
        ],
        "paging": {"cursors": {"before": "QVFIa", "after": "QVFIb"}},
    }


def make_appstore_connect() -> dict[str, Any]:
    """An App Store Connect customerReviews page with include=response: a review answered by
    the developer (the review thread), one waiting for an answer, and a happy one."""

    def review(
        n: int, rating: int, title: str, body: str, nickname: str, hours: float, response: str | None
    ) -> dict[str, Any]:
        item: dict[str, Any] = {
            "type": "customerReviews",
            "id": f"5f0e6c1a-0000-4000-8000-00000000{n:04d}",
            "attributes": {
                "rating": rating,
                "title": title,
                "body": body,
                "reviewerNickname": nickname,
                "createdDate": (ago(hours) - timedelta(hours=8)).strftime("%Y-%m-%dT%H:%M:%S-08:00"),
                "territory": "USA",
            },
            "relationships": {
                "response": {
                    "links": {
                        "related": f"https://api.appstoreconnect.apple.com/v1/customerReviews/5f0e6c1a-0000-4000-8000-00000000{n:04d}/response"
                    }
                }
            },
        }
        if response:
            item["relationships"]["response"]["data"] = {"type": "customerReviewResponses", "id": response}
        return item

    return {
        "data": [
            review(
                1,
                1,
                "Boarding pass vanished",
                "Opened the app at the gate and my boarding pass was gone. "
                "Nearly missed SK215. Fix this before the holidays.",
                "frequentflyer_ana",
                4,
                None,
            ),
            review(
                2,
                2,
                "Seat map crashes",
                "Every time I open the seat map on my iPhone the app crashes.",
                "kenji.t",
                70,
                "resp-0002",
            ),
            review(
                3,
                5,
                "Best airline app",
                "Check-in in 20 seconds, the live gate updates are great.",
                "ingrid_l",
                33,
                None,
            ),
        ],
        "included": [
            {
                "type": "customerReviewResponses",
                "id": "resp-0002",
                "attributes": {
                    "responseBody": "Thanks Kenji, and sorry! Version 2026.11.2 fixes the seat-map crash.",
                    "lastModifiedDate": (ago(64) - timedelta(hours=8)).strftime("%Y-%m-%dT%H:%M:%S-08:00"),
                    "state": "PUBLISHED",
                },
            }
        ],
        "links": {
            "self": f"https://api.appstoreconnect.apple.com/v1/apps/{APP_ID}/customerReviews?include=response&sort=-createdDate"
        },
        "meta": {"paging": {"total": 3, "limit": 50}},
    }


def write_json(name: str, payload: Any) -> None:
    (OUT / name).write_text(json.dumps(payload, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.glob("*.json"):
        old.unlink()
    customers = make_customers()
    with (OUT / "customers.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(
            [
                "crm_id",
                "name",
                "email",
                "segment",
                "currency",
                "clv",
                "x_handle",
                "x_user_id",
                "reddit_username",
                "appstore_user",
                "googleplay_user",
            ]
        )
        for n, c in enumerate(customers):
            imported = n % 2 == 0  # half the CRM carries a CLV; the rest is fitted from bookings
            clv = {"gold": 9000, "corporate": 14000, "silver": 3500, "standard": 900}[c["segment"]] * rng.uniform(
                0.6, 1.5
            )
            w.writerow(
                [
                    c["crm_id"],
                    c["name"],
                    c["email"],
                    c["segment"],
                    "USD",
                    f"{clv:.2f}" if imported else "",
                    c["handle"] if c["on_x"] else "",
                    c["x_user_id"] if c["on_x"] else "",
                    c["handle"] if c["on_reddit"] else "",
                    c["handle"] if c["on_appstore"] else "",
                    "",
                ]
            )
    with (OUT / "transactions.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=["customer_id", "date", "amount"])
        w.writeheader()
        w.writerows(make_transactions(customers))
    search_pages, mention_pages = make_x(customers)
    for i, page in enumerate(search_pages, 1):
        if i < len(search_pages):
            page["meta"]["next_token"] = f"b26v89c19zqg8o3f{i:04d}"
        write_json(f"x_search_page{i}.json", page)
    for i, page in enumerate(mention_pages, 1):
        if i < len(mention_pages):
            page["meta"]["next_token"] = f"7140dibdnow9c7btw{i:04d}"
        write_json(f"x_mentions_page{i}.json", page)
    write_json("reddit_listing.json", make_reddit(customers))
    write_json("appstore_feed.json", make_appstore(customers))
    write_json("googleplay_reviews.json", make_googleplay())
    write_json("facebook_page.json", make_facebook())
    write_json("instagram_media.json", make_instagram())
    write_json("appstore_connect_reviews.json", make_appstore_connect())
    print(f"wrote demo data to {OUT}")


if __name__ == "__main__":
    main()
