<?php
/*
 * Runs PHP read from stdin inside the test WordPress (the CLI counterpart of router.php):
 *   php boot.php CONFIG_NAME HOST [install]
 * With `install`, WordPress is loaded in installing mode and wp-admin/includes/upgrade.php
 * (wp_install()) is available. The code's output is the command's output.
 */
$_SERVER['WORDPRESS_CONFIG'] = $argv[1];
$_SERVER['HTTP_HOST'] = $argv[2];
$_SERVER['SERVER_NAME'] = preg_replace('/:.*/', '', $argv[2]);
$_SERVER['REQUEST_URI'] = '/';
$_SERVER['SERVER_PROTOCOL'] = 'HTTP/1.1';
$_SERVER['REQUEST_METHOD'] = 'GET';
if (($argv[3] ?? '') === 'install') {
    define('WP_INSTALLING', true);
}
require '/usr/share/wordpress/wp-load.php';
require_once ABSPATH . 'wp-admin/includes/upgrade.php';
require_once ABSPATH . 'wp-admin/includes/user.php';
require_once ABSPATH . 'wp-admin/includes/post.php';
eval(stream_get_contents(STDIN));
