<?xml version="1.0" encoding="utf-8"?>
<!-- Shows feed.xml as a readable page when it is opened in a browser (feed.xml names this stylesheet in its
     xml-stylesheet instruction); feed readers ignore it. Every value is written as text: nothing in the feed
     becomes markup. -->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform" xmlns:atom="http://www.w3.org/2005/Atom"
                exclude-result-prefixes="atom">
  <xsl:output method="html" encoding="utf-8" doctype-system="about:legacy-compat"/>
  <xsl:template match="/atom:feed">
    <html lang="en">
      <head>
        <meta charset="utf-8"/>
        <meta name="viewport" content="width=device-width,initial-scale=1"/>
        <meta name="robots" content="noindex"/>
        <title><xsl:value-of select="atom:title"/> (Atom feed)</title>
        <style>
          body { font: 1rem/1.5 system-ui, sans-serif; max-width: 46rem; margin: 2rem auto; padding: 0 1rem; color: #222; background: #fff; }
          .about { background: #f3f0fa; border-left: 4px solid #673ab7; padding: .75rem 1rem; }
          code { background: #eee; padding: .1rem .3rem; word-break: break-all; }
          li { margin: 0 0 1rem; }
          small { color: #555; }
          a { color: #4527a0; }
          @media (prefers-color-scheme: dark) {
            body { color: #ddd; background: #1e1e24; } .about { background: #2a2540; } code { background: #333; }
            small { color: #aaa; } a { color: #b39ddb; }
          }
        </style>
      </head>
      <body>
        <h1><xsl:value-of select="atom:title"/></h1>
        <div class="about">
          <p><strong>This is a web feed.</strong> Subscribe by copying this page's address into a feed reader
          (such as Thunderbird, NetNewsWire, Feedly or Inoreader) to hear of every new study summary.</p>
          <p>Feed address: <code><xsl:value-of select="atom:link[@rel='self']/@href"/></code>
          (the address in your browser's address bar)</p>
        </div>
        <p><xsl:value-of select="atom:subtitle"/>
          <xsl:text> </xsl:text>
          <a href="{atom:link[@rel='alternate']/@href}">Back to the site</a></p>
        <h2>Newest additions</h2>
        <ul>
          <xsl:for-each select="atom:entry">
            <li>
              <a href="{atom:link[@rel='alternate']/@href}"><xsl:value-of select="atom:title"/></a>
              <br/>
              <small><xsl:value-of select="atom:summary"/> Added <xsl:value-of select="substring(atom:published, 1, 10)"/>.</small>
            </li>
          </xsl:for-each>
        </ul>
      </body>
    </html>
  </xsl:template>
</xsl:stylesheet>
