"""A real WordPress for the tests: Debian's `wordpress` package served by `php -S`, on its own
fresh MariaDB database.

One `RealWordPress` per test session and xdist worker: its database (`inkline_wp_<worker>_<pid>`),
its Debian config (`/etc/wordpress/config-<name>.php`, chosen by the router through
`$_SERVER['WORDPRESS_CONFIG']`, so two workers never read each other's) and its uploads
directory are its own, and all are removed when it stops. `WP_ENVIRONMENT_TYPE` is `local`, so
application passwords work over plain http. `php()` runs PHP inside this WordPress (to set it
up or to look at what a test left in it).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

HERE = Path(__file__).resolve().parent
WORDPRESS = Path("/usr/share/wordpress")
CONFIG_DIR = Path("/etc/wordpress")
MYSQL_HOST = os.environ.get("INKLINE_TEST_MYSQL_HOST", "127.0.0.1:3306")
MYSQL_USER = os.environ.get("INKLINE_TEST_MYSQL_USER", "root")
MYSQL_PASSWORD = os.environ.get("INKLINE_TEST_MYSQL_PASSWORD", "")
PRETTY = "/%postname%/"
PLAIN = ""


@dataclass(frozen=True)
class Account:
    """A WordPress user and an application password made for it."""

    username: str
    password: str  # the application password (the user's own password is never used)
    role: str
    user_id: int


def missing() -> str | None:
    """Why a real WordPress cannot run here, or None."""
    if shutil.which("php") is None:
        return "php is not installed (apt-get install php-cli)"
    if not (WORDPRESS / "wp-settings.php").is_file():
        return "Debian's wordpress package is not installed"
    if not os.access(CONFIG_DIR, os.W_OK):
        return f"{CONFIG_DIR} is missing or not writable"
    host, _, port = MYSQL_HOST.partition(":")
    try:
        socket.create_connection((host, int(port or 3306)), timeout=1).close()
    except OSError:
        return f"MariaDB is not running on {MYSQL_HOST}"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _php_string(value: str) -> str:
    return json.dumps(value)  # a JSON string is a valid PHP double-quoted string for ASCII


def _permalinks(structure: str) -> str:
    return f"""
        global $wp_rewrite;
        $wp_rewrite->set_permalink_structure({_php_string(structure)});
        flush_rewrite_rules(false);
        """


class RealWordPress:
    def __init__(self) -> None:
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        self.name = f"inkline-test-{worker}-{os.getpid()}"
        self.database = f"inkline_wp_{worker}_{os.getpid()}"
        self.port = _free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.url = f"http://{self.host}"
        self.dir = Path(tempfile.mkdtemp(prefix="inkline-wp-"))
        self.config = CONFIG_DIR / f"config-{self.name}.php"
        self.process: subprocess.Popen[bytes] | None = None
        self.admin: Account
        self.author: Account

    # --- lifecycle ----------------------------------------------------------------------
    def start(self) -> RealWordPress:
        self._mysql(f"DROP DATABASE IF EXISTS `{self.database}`; CREATE DATABASE `{self.database}`")
        (self.dir / "uploads").mkdir()
        self._write_config()
        env = {
            **os.environ,
            "INKLINE_WP_CONFIG": self.name,
            "INKLINE_WP_DIR": str(self.dir),
            "PHP_CLI_SERVER_WORKERS": "4",  # WordPress calls itself (cron, loopback checks)
        }
        log = (self.dir / "server.log").open("wb")
        self.process = subprocess.Popen(
            ["php", "-S", self.host, "-t", str(WORDPRESS), str(HERE / "router.php")],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=WORDPRESS,
        )
        self._install()
        self._wait_until_up()
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.config.unlink(missing_ok=True)
        try:
            self._mysql(f"DROP DATABASE IF EXISTS `{self.database}`")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> RealWordPress:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _wait_until_up(self) -> None:
        for _ in range(100):
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"php -S exited: {self.log()}")
            try:
                requests.get(self.url + "/wp-login.php", timeout=5)
                return
            except requests.ConnectionError:
                time.sleep(0.1)  # the server process is starting, not a clock being waited on
        raise RuntimeError(f"WordPress did not start: {self.log()}")

    def log(self) -> str:
        return (self.dir / "server.log").read_text(errors="replace")[-3000:]

    # --- setup --------------------------------------------------------------------------
    def _mysql(self, sql: str) -> None:
        host, _, port = MYSQL_HOST.partition(":")
        code = (
            f"$m = new mysqli({_php_string(host)}, {_php_string(MYSQL_USER)}, "
            f"{_php_string(MYSQL_PASSWORD)}, null, {int(port or 3306)});"
            f"if (!$m->multi_query({_php_string(sql)})) {{ fwrite(STDERR, $m->error); exit(1); }}"
            "while ($m->more_results()) { $m->next_result(); }"
        )
        subprocess.run(["php", "-r", code], check=True, capture_output=True, timeout=60)

    def _write_config(self) -> None:
        keys = "\n".join(
            f"define('{k}', '{secrets.token_hex(32)}');"
            for k in (
                "AUTH_KEY",
                "SECURE_AUTH_KEY",
                "LOGGED_IN_KEY",
                "NONCE_KEY",
                "AUTH_SALT",
                "SECURE_AUTH_SALT",
                "LOGGED_IN_SALT",
                "NONCE_SALT",
            )
        )
        self.config.write_text(
            f"""<?php
// Written by Inkline's tests for one test session; removed when it ends.
define('DB_NAME', '{self.database}');
define('DB_USER', '{MYSQL_USER}');
define('DB_PASSWORD', '{MYSQL_PASSWORD}');
define('DB_HOST', '{MYSQL_HOST}');
define('WP_HOME', '{self.url}');
define('WP_SITEURL', '{self.url}');
define('WP_ENVIRONMENT_TYPE', 'local');
define('DISABLE_WP_CRON', true);
define('WP_HTTP_BLOCK_EXTERNAL', true);
define('AUTOMATIC_UPDATER_DISABLED', true);
define('WP_DEBUG', false);
{keys}
"""
        )

    def _install(self) -> None:
        uploads = str(self.dir / "uploads")
        self.php(
            f"""
            wp_install('Inkline test', 'admin', 'admin@example.com', false, '',
                       wp_generate_password(24));
            update_option('upload_path', {_php_string(uploads)});
            update_option('upload_url_path', {_php_string(self.url + "/wp-content/uploads")});
            update_option('uploads_use_yearmonth_folders', 0);
            """,
            install=True,
        )
        self.set_permalinks(PRETTY)
        self.admin = self.add_user("admin", "administrator")
        self.author = self.add_user("author", "author")

    def php(self, code: str, *, install: bool = False) -> str:
        """Run PHP inside this WordPress; its output."""
        args = ["php", str(HERE / "boot.php"), self.name, self.host]
        if install:
            args.append("install")
        done = subprocess.run(args, input=code.encode(), capture_output=True, timeout=120)
        out = done.stdout.decode(errors="replace")
        if done.returncode != 0:
            raise RuntimeError(f"PHP failed ({done.returncode}): {out[-2000:]} {done.stderr!r}")
        return out

    def php_json(self, code: str) -> Any:
        """Run PHP that echoes JSON; the decoded value."""
        return json.loads(self.php(code))

    def add_user(self, username: str, role: str) -> Account:
        """A user with `role` (creating it when missing) and a new application password."""
        found = self.php_json(
            f"""
            $login = {_php_string(username)};
            $user = get_user_by('login', $login);
            $id = $user ? $user->ID : wp_insert_user([
                'user_login' => $login, 'user_pass' => wp_generate_password(24),
                'user_email' => $login . '@example.com', 'role' => {_php_string(role)},
            ]);
            if (is_wp_error($id)) {{ fwrite(STDERR, $id->get_error_message()); exit(1); }}
            (new WP_User($id))->set_role({_php_string(role)});
            [$password] = WP_Application_Passwords::create_new_application_password(
                $id, ['name' => 'inkline-' . wp_generate_password(8, false)]);
            echo json_encode(['id' => $id, 'password' => $password]);
            """
        )
        return Account(
            username=username, password=found["password"], role=role, user_id=int(found["id"])
        )

    def set_permalinks(self, structure: str) -> None:
        """`PRETTY` ("/%postname%/") or `PLAIN` ("", REST only at ?rest_route=)."""
        self.php(_permalinks(structure))

    @contextmanager
    def authorization_stripped(self) -> Iterator[None]:
        """Requests reach WordPress without their Authorization header meanwhile, as behind a
        proxy or CGI setup that drops it."""
        flag = self.dir / "strip-authorization"
        flag.touch()
        try:
            yield
        finally:
            flag.unlink(missing_ok=True)

    def reset(self) -> None:
        """Back to a fresh install: pretty permalinks, no posts, media, tags or categories
        (but "Uncategorized"), files uploaded removed; the users and their passwords stay."""
        self.php(
            """
            foreach (get_posts(['post_type' => ['post', 'page', 'attachment'],
                                'post_status' => array_keys(get_post_stati()), 'numberposts' => -1,
                                'fields' => 'ids']) as $id) {
                wp_delete_post($id, true);
            }
            foreach (['category', 'post_tag'] as $taxonomy) {
                foreach (get_terms(['taxonomy' => $taxonomy, 'hide_empty' => false]) as $t) {
                    if ($t->term_id != get_option('default_category')) {
                        wp_delete_term($t->term_id, $taxonomy);
                    }
                }
            }
            """
            + _permalinks(PRETTY)
        )
        shutil.rmtree(self.dir / "uploads", ignore_errors=True)
        (self.dir / "uploads").mkdir()
        (self.dir / "strip-authorization").unlink(missing_ok=True)
