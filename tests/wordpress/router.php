<?php
/*
 * Router for `php -S 127.0.0.1:PORT -t /usr/share/wordpress router.php`: what Apache's
 * rewrite rules do for a Debian WordPress. Environment (set by tests/wordpress/server.py):
 *   INKLINE_WP_CONFIG  the name of /etc/wordpress/config-<name>.php (Debian's wp-config.php
 *                      picks it from $_SERVER['WORDPRESS_CONFIG'])
 *   INKLINE_WP_DIR     this test WordPress's own directory: uploads/ lives there, and a file
 *                      named `strip-authorization` makes the router drop the Authorization
 *                      header, as a misconfigured proxy or CGI setup does
 */
$_SERVER['WORDPRESS_CONFIG'] = getenv('INKLINE_WP_CONFIG');
$dir = getenv('INKLINE_WP_DIR');

if (file_exists($dir . '/strip-authorization')) {
    unset($_SERVER['HTTP_AUTHORIZATION'], $_SERVER['PHP_AUTH_USER'], $_SERVER['PHP_AUTH_PW']);
}

$path = rawurldecode(parse_url($_SERVER['REQUEST_URI'], PHP_URL_PATH) ?? '/');
if (strpos($path, '..') !== false) {
    http_response_code(400);
    return true;
}

// Uploads live in this WordPress's own directory; themes and plugins in Debian's
// /var/lib/wordpress/wp-content (WP_CONTENT_DIR), falling back to the document root.
if (strpos($path, '/wp-content/') === 0) {
    $rest = substr($path, strlen('/wp-content/'));
    $candidates = strpos($rest, 'uploads/') === 0
        ? [$dir . '/' . $rest]
        : ['/var/lib/wordpress/wp-content/' . $rest, $_SERVER['DOCUMENT_ROOT'] . $path];
    foreach ($candidates as $file) {
        if (is_file($file) && substr($file, -4) !== '.php') {
            $types = ['png' => 'image/png', 'jpg' => 'image/jpeg', 'jpeg' => 'image/jpeg',
                      'webp' => 'image/webp', 'gif' => 'image/gif', 'css' => 'text/css',
                      'js' => 'application/javascript', 'svg' => 'image/svg+xml'];
            $ext = strtolower(pathinfo($file, PATHINFO_EXTENSION));
            header('Content-Type: ' . ($types[$ext] ?? 'application/octet-stream'));
            header('Content-Length: ' . filesize($file));
            readfile($file);
            return true;
        }
    }
    http_response_code(404);
    return true;
}

// An existing file (wp-login.php, wp-admin/…, wp-includes/…): the built-in server serves or
// runs it. A directory runs its index.php.
$file = $_SERVER['DOCUMENT_ROOT'] . $path;
if ($path !== '/' && is_file($file)) {
    return false;
}
if ($path !== '/' && is_dir($file) && is_file(rtrim($file, '/') . '/index.php')) {
    $_SERVER['SCRIPT_NAME'] = rtrim($path, '/') . '/index.php';
    $_SERVER['SCRIPT_FILENAME'] = rtrim($file, '/') . '/index.php';
    chdir(rtrim($file, '/'));
    require rtrim($file, '/') . '/index.php';
    return true;
}

// Everything else (pretty permalinks, /wp-json/…) goes to WordPress's front controller.
$_SERVER['SCRIPT_NAME'] = '/index.php';
$_SERVER['SCRIPT_FILENAME'] = $_SERVER['DOCUMENT_ROOT'] . '/index.php';
chdir($_SERVER['DOCUMENT_ROOT']);
require $_SERVER['DOCUMENT_ROOT'] . '/index.php';
